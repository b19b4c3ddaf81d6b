"""Who may use the API: users with one role each, argon2 passwords, expiring bearer tokens.

Route modules guard themselves with ``require_roles`` from ``facetrail.auth.dependencies``.
"""
