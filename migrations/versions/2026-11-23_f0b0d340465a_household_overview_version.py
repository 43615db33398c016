"""Household overview version: the key of the parent overview's render cache.

``household.overview_version`` is raised by every change the parent's overview
(GET /parent/) shows, see kita/services/overview.py. Existing rows start at 1.

Revision ID: f0b0d340465a
Revises: a3addb6eff81
Create Date: 2026-11-23 01:33:31.538589

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0b0d340465a'
down_revision = 'a3addb6eff81'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('overview_version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('overview_version')
