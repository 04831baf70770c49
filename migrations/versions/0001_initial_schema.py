"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 15:44:13.328890
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=300), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    op.create_table('families',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_families')),
    sa.UniqueConstraint('name', name=op.f('uq_families_name'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=300), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('progress_message', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f('ck_jobs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_jobs_dedupe_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim', ['status', 'priority', 'run_after'], unique=False)

    op.create_table('models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('architecture', sa.String(length=200), nullable=False),
    sa.Column('weights_sha256', sa.String(length=64), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('input_spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_models')),
    sa.UniqueConstraint('name', name=op.f('uq_models_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'curator', 'reviewer', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('circuits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'proposed', 'accepted', 'disputed', 'rejected')", name=op.f('ck_circuits_status')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_circuits_author_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circuits')),
    sa.UniqueConstraint('name', name=op.f('uq_circuits_name'))
    )
    op.create_table('layers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.Column('spatial_shape', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.CheckConstraint('channels > 0', name=op.f('ck_layers_channels_positive')),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_layers_model_id_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layers')),
    sa.UniqueConstraint('model_id', 'name', name=op.f('uq_layers_model_id_name'))
    )
    op.create_table('circuit_claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circuit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('prediction', sa.Text(), nullable=False),
    sa.Column('experiment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('untested', 'supported', 'refuted')", name=op.f('ck_circuit_claims_status')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_circuit_claims_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['circuit_id'], ['circuits.id'], name=op.f('fk_circuit_claims_circuit_id_circuits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circuit_claims'))
    )
    op.create_table('features',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('layer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('vector_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'unit' AND channel IS NOT NULL AND channel >= 0) OR (kind = 'direction' AND channel IS NULL AND name IS NOT NULL AND vector_sha256 IS NOT NULL)", name=op.f('ck_features_unit_or_direction')),
    sa.CheckConstraint("kind IN ('unit', 'direction')", name=op.f('ck_features_kind')),
    sa.ForeignKeyConstraint(['layer_id'], ['layers.id'], name=op.f('fk_features_layer_id_layers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_features')),
    sa.UniqueConstraint('layer_id', 'channel', name=op.f('uq_features_layer_id_channel')),
    sa.UniqueConstraint('layer_id', 'name', name=op.f('uq_features_layer_id_name'))
    )
    op.create_table('artifacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('params_key', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('blobs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_artifacts_feature_id_features'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_artifacts_job_id_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifacts')),
    sa.UniqueConstraint('feature_id', 'kind', 'params_key', name=op.f('uq_artifacts_feature_id_kind_params_key'))
    )
    op.create_table('circuit_nodes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circuit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['circuit_id'], ['circuits.id'], name=op.f('fk_circuit_nodes_circuit_id_circuits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_circuit_nodes_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circuit_nodes')),
    sa.UniqueConstraint('circuit_id', 'feature_id', name=op.f('uq_circuit_nodes_circuit_id_feature_id'))
    )
    op.create_table('edges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('src_feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dst_feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('strength', sa.Float(), nullable=False),
    sa.Column('positive_mass', sa.Float(), nullable=True),
    sa.Column('negative_mass', sa.Float(), nullable=True),
    sa.Column('rank_in', sa.Integer(), nullable=True),
    sa.Column('rank_out', sa.Integer(), nullable=True),
    sa.Column('kernel_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint("kind IN ('direct', 'expanded', 'attribution')", name=op.f('ck_edges_kind')),
    sa.ForeignKeyConstraint(['dst_feature_id'], ['features.id'], name=op.f('fk_edges_dst_feature_id_features'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['src_feature_id'], ['features.id'], name=op.f('fk_edges_src_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edges')),
    sa.UniqueConstraint('src_feature_id', 'dst_feature_id', 'kind', name=op.f('uq_edges_src_feature_id_dst_feature_id_kind'))
    )
    with op.batch_alter_table('edges', schema=None) as batch_op:
        batch_op.create_index('ix_edges_top_inputs', ['dst_feature_id', 'kind', 'rank_in'], unique=False)
        batch_op.create_index('ix_edges_top_outputs', ['src_feature_id', 'kind', 'rank_out'], unique=False)

    op.create_table('family_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('family_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_members_family_id_families'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_family_members_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_members')),
    sa.UniqueConstraint('family_id', 'feature_id', name=op.f('uq_family_members_family_id_feature_id'))
    )
    with op.batch_alter_table('family_members', schema=None) as batch_op:
        batch_op.create_index('ix_family_members_feature_id', ['feature_id'], unique=False)

    op.create_table('labels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('proposed', 'accepted', 'disputed', 'rejected')", name=op.f('ck_labels_status')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_labels_confidence')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_labels_version_positive')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_labels_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_labels_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('feature_id', 'version', name=op.f('uq_labels_feature_id_version'))
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index('ix_labels_status', ['status'], unique=False)

    op.create_table('circuit_edges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circuit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('src_feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dst_feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('edge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['circuit_id'], ['circuits.id'], name=op.f('fk_circuit_edges_circuit_id_circuits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dst_feature_id'], ['features.id'], name=op.f('fk_circuit_edges_dst_feature_id_features'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['edge_id'], ['edges.id'], name=op.f('fk_circuit_edges_edge_id_edges'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['src_feature_id'], ['features.id'], name=op.f('fk_circuit_edges_src_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circuit_edges')),
    sa.UniqueConstraint('circuit_id', 'src_feature_id', 'dst_feature_id', name=op.f('uq_circuit_edges_circuit_id_src_feature_id_dst_feature_id'))
    )
    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('edge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('circuit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('blobs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('note', 'link', 'image', 'visualization', 'examples', 'tuning_curve', 'ablation', 'weight_edit')", name=op.f('ck_evidence_kind')),
    sa.CheckConstraint('(CASE WHEN feature_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN edge_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN circuit_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_evidence_one_target')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_evidence_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['circuit_id'], ['circuits.id'], name=op.f('fk_evidence_circuit_id_circuits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['edge_id'], ['edges.id'], name=op.f('fk_evidence_edge_id_edges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_evidence_feature_id_features'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_circuit_id', ['circuit_id'], unique=False)
        batch_op.create_index('ix_evidence_edge_id', ['edge_id'], unique=False)
        batch_op.create_index('ix_evidence_feature_id', ['feature_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_feature_id')
        batch_op.drop_index('ix_evidence_edge_id')
        batch_op.drop_index('ix_evidence_circuit_id')

    op.drop_table('evidence')
    op.drop_table('circuit_edges')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index('ix_labels_status')

    op.drop_table('labels')
    with op.batch_alter_table('family_members', schema=None) as batch_op:
        batch_op.drop_index('ix_family_members_feature_id')

    op.drop_table('family_members')
    with op.batch_alter_table('edges', schema=None) as batch_op:
        batch_op.drop_index('ix_edges_top_outputs')
        batch_op.drop_index('ix_edges_top_inputs')

    op.drop_table('edges')
    op.drop_table('circuit_nodes')
    op.drop_table('artifacts')
    op.drop_table('features')
    op.drop_table('circuit_claims')
    op.drop_table('layers')
    op.drop_table('circuits')
    op.drop_table('users')
    op.drop_table('models')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_claim')

    op.drop_table('jobs')
    op.drop_table('families')
    op.drop_table('datasets')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index('ix_audit_log_created_at')

    op.drop_table('audit_log')

