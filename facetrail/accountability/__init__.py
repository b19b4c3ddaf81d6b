"""Accountability: the watch-list's rules and the people who decide.

Enrolment with its accountability record and expiry (enrolment), human review of candidate matches (review),
erasure of a person everywhere (erasure) and the retention sweep that applies expiry and retention limits
(retention). The audit log they write to is its own package, facetrail.audit.
"""
