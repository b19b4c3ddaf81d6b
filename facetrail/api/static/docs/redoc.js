// Starts ReDoc on /openapi.json; a file, not an inline script, so the page runs under the app's CSP.
"use strict";
Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"));
