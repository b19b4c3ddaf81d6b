"""Initial schema: the tables of facetrail.storage.models as first released.

Timestamps are plain DateTime columns holding naive UTC (models.UtcDateTime converts).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 13:20:43.135596
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_users',
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_actor'), 'audit_log', ['actor'], unique=False)
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_table('camera_health',
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('analysed_fps', sa.Float(), nullable=False),
    sa.Column('last_frame_at', sa.DateTime(), nullable=True),
    sa.Column('reconnects', sa.Integer(), nullable=False),
    sa.Column('lag_s', sa.Float(), nullable=False),
    sa.Column('faces_detected', sa.Integer(), nullable=False),
    sa.Column('unmatched_passes', sa.Integer(), nullable=False),
    sa.Column('matched_passes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('camera_id')
    )
    op.create_table('reprocess_progress',
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('done_until_s', sa.Float(), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source_id')
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('reviewer', sa.String(length=100), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_reviews_decided_at'), 'reviews', ['decided_at'], unique=False)
    op.create_index(op.f('ix_reviews_entry_id'), 'reviews', ['entry_id'], unique=False)
    op.create_index(op.f('ix_reviews_event_id'), 'reviews', ['event_id'], unique=False)
    op.create_table('watchlist_entries',
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('watchlist', sa.String(length=100), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('image_source', sa.Text(), nullable=False),
    sa.Column('enrolled_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('entry_id')
    )
    op.create_index(op.f('ix_watchlist_entries_display_name'), 'watchlist_entries', ['display_name'], unique=False)
    op.create_index(op.f('ix_watchlist_entries_expires_at'), 'watchlist_entries', ['expires_at'], unique=False)
    op.create_index(op.f('ix_watchlist_entries_watchlist'), 'watchlist_entries', ['watchlist'], unique=False)
    op.create_table('api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['api_users.username'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_expires_at'), 'api_tokens', ['expires_at'], unique=False)
    op.create_index(op.f('ix_api_tokens_username'), 'api_tokens', ['username'], unique=False)
    op.create_table('entry_embeddings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('photo_key', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['watchlist_entries.entry_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_entry_embeddings_entry_id'), 'entry_embeddings', ['entry_id'], unique=False)
    op.create_table('sightings',
    sa.Column('event_id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('box_x', sa.Integer(), nullable=False),
    sa.Column('box_y', sa.Integer(), nullable=False),
    sa.Column('box_w', sa.Integer(), nullable=False),
    sa.Column('box_h', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Float(), nullable=False),
    sa.Column('evidence_key', sa.String(length=300), nullable=True),
    sa.Column('watchlist_version', sa.String(length=64), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['watchlist_entries.entry_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index('sightings_by_camera_time', 'sightings', ['camera_id', 'first_seen'], unique=False)
    op.create_index('sightings_by_entry_time', 'sightings', ['entry_id', 'first_seen'], unique=False)
    op.create_index('sightings_by_time', 'sightings', ['first_seen'], unique=False)
    op.create_table('tracks',
    sa.Column('track_id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('plausible', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['watchlist_entries.entry_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('track_id')
    )
    op.create_index(op.f('ix_tracks_ended_at'), 'tracks', ['ended_at'], unique=False)
    op.create_index(op.f('ix_tracks_entry_id'), 'tracks', ['entry_id'], unique=False)
    op.create_index(op.f('ix_tracks_started_at'), 'tracks', ['started_at'], unique=False)
    op.create_table('track_visits',
    sa.Column('track_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('exited_at', sa.DateTime(), nullable=False),
    sa.Column('best_score', sa.Float(), nullable=False),
    sa.Column('sightings', sa.Integer(), nullable=False),
    sa.Column('plausible_arrival', sa.Boolean(), nullable=False),
    sa.Column('speed_mps', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['track_id'], ['tracks.track_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('track_id', 'seq')
    )
    op.create_index(op.f('ix_track_visits_camera_id'), 'track_visits', ['camera_id'], unique=False)
    op.create_index(op.f('ix_track_visits_entered_at'), 'track_visits', ['entered_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_track_visits_entered_at'), table_name='track_visits')
    op.drop_index(op.f('ix_track_visits_camera_id'), table_name='track_visits')
    op.drop_table('track_visits')
    op.drop_index(op.f('ix_tracks_started_at'), table_name='tracks')
    op.drop_index(op.f('ix_tracks_entry_id'), table_name='tracks')
    op.drop_index(op.f('ix_tracks_ended_at'), table_name='tracks')
    op.drop_table('tracks')
    op.drop_index('sightings_by_time', table_name='sightings')
    op.drop_index('sightings_by_entry_time', table_name='sightings')
    op.drop_index('sightings_by_camera_time', table_name='sightings')
    op.drop_table('sightings')
    op.drop_index(op.f('ix_entry_embeddings_entry_id'), table_name='entry_embeddings')
    op.drop_table('entry_embeddings')
    op.drop_index(op.f('ix_api_tokens_username'), table_name='api_tokens')
    op.drop_index(op.f('ix_api_tokens_expires_at'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_watchlist_entries_watchlist'), table_name='watchlist_entries')
    op.drop_index(op.f('ix_watchlist_entries_expires_at'), table_name='watchlist_entries')
    op.drop_index(op.f('ix_watchlist_entries_display_name'), table_name='watchlist_entries')
    op.drop_table('watchlist_entries')
    op.drop_index(op.f('ix_reviews_event_id'), table_name='reviews')
    op.drop_index(op.f('ix_reviews_entry_id'), table_name='reviews')
    op.drop_index(op.f('ix_reviews_decided_at'), table_name='reviews')
    op.drop_table('reviews')
    op.drop_table('reprocess_progress')
    op.drop_table('camera_health')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('api_users')
