"""Initial schema: the whole data model of PRODUCT.md.

Accounts (users with a role, failed-login counters), households with guardians and
children, facilities with their care types, rounds with capacities, applications with
ranked wishes, declared/verified criteria, status events and internal notes, priority
rules, allocation runs with locks and bans, offers and enrollments, the mail outbox, the
audit log, settings and the scheduler lock.

Reviewed by hand: constraint names come from the naming convention in
kita/models/base.py, so they are the same on SQLite and PostgreSQL; the partial unique
indexes (one open application per child and round, one open offer per application, one
active run per round) carry both the SQLite and the PostgreSQL WHERE clause; enums are
stored as short strings (non-native), so no PostgreSQL types need creating or dropping.

Revision ID: a3addb6eff81
Revises: 
Create Date: 2026-11-22 23:31:16.079586

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3addb6eff81'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility')),
    sa.UniqueConstraint('slug', name=op.f('uq_facility_slug'))
    )
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facility_district'), ['district'], unique=False)

    op.create_table('failed_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_login'))
    )
    with op.batch_alter_table('failed_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_login_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_failed_login_email'), ['email'], unique=False)

    op.create_table('priority_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_de', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('description_de', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('facility_specific', sa.Boolean(), nullable=False),
    sa.Column('proof_required', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.CheckConstraint('points >= 0 AND points <= 100000', name=op.f('ck_priority_rule_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priority_rule')),
    sa.UniqueConstraint('code', name=op.f('uq_priority_rule_code'))
    )
    op.create_table('reference_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_reference_counter'))
    )
    op.create_table('round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('care_start_from', sa.Date(), nullable=False),
    sa.Column('care_start_to', sa.Date(), nullable=False),
    sa.Column('application_deadline', sa.Date(), nullable=False),
    sa.Column('offer_response_days', sa.Integer(), nullable=False),
    sa.Column('tiebreak_method', sa.Enum('lottery', 'submission', name='tiebreakmethod', native_enum=False, length=16), nullable=False),
    sa.Column('lottery_seed', sa.BigInteger(), nullable=True),
    sa.Column('lottery_drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconfirmation_date', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('care_start_from <= care_start_to', name=op.f('ck_round_start_range')),
    sa.CheckConstraint('offer_response_days > 0', name=op.f('ck_round_response_days')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round')),
    sa.UniqueConstraint('name', name=op.f('uq_round_name'))
    )
    op.create_table('scheduler_lock',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lock'))
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('capacity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('care_type', sa.Enum('krippe', 'kindergarten', 'hort', name='caretype', native_enum=False, length=16), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('reported_free', sa.Integer(), nullable=True),
    sa.CheckConstraint('places >= 0', name=op.f('ck_capacity_places_nonnegative')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_capacity_facility_id_facility')),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_capacity_round_id_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capacity')),
    sa.UniqueConstraint('round_id', 'facility_id', 'care_type', name=op.f('uq_capacity_round_id_facility_id_care_type'))
    )
    with op.batch_alter_table('capacity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capacity_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_capacity_round_id'), ['round_id'], unique=False)

    op.create_table('facility_care_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('care_type', sa.Enum('krippe', 'kindergarten', 'hort', name='caretype', native_enum=False, length=16), nullable=False),
    sa.Column('min_hours', sa.Integer(), nullable=False),
    sa.Column('max_hours', sa.Integer(), nullable=False),
    sa.CheckConstraint('min_hours > 0 AND min_hours <= max_hours AND max_hours <= 60', name=op.f('ck_facility_care_type_hours')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_facility_care_type_facility_id_facility')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility_care_type')),
    sa.UniqueConstraint('facility_id', 'care_type', name=op.f('uq_facility_care_type_facility_id_care_type'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('parent', 'office', 'facility', 'admin', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('display_name', sa.String(length=120), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('is_active_account', sa.Boolean(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_user_facility_id_facility')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_facility_id'), ['facility_id'], unique=False)

    op.create_table('allocation_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', name='runstatus', native_enum=False, length=12), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('siblings', sa.String(length=10), nullable=False),
    sa.Column('follow_up', sa.Boolean(), nullable=False),
    sa.Column('options_json', sa.Text(), nullable=False),
    sa.Column('problem_json', sa.Text(), nullable=True),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('solver_version', sa.String(length=60), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('progress_message', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('solve_seconds', sa.Float(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_allocation_run_created_by_id_user')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user.id'], name=op.f('fk_allocation_run_published_by_id_user')),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_allocation_run_round_id_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_run'))
    )
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_run_round_id'), ['round_id'], unique=False)
        batch_op.create_index('uq_allocation_run_active_round', ['round_id'], unique=True, sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('actor_ref', sa.String(length=40), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.String(length=60), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=40), nullable=True),
    sa.Column('retention_rewrites', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_event_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_object_type'), ['object_type'], unique=False)

    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('entered_by_office', sa.Boolean(), nullable=False),
    sa.Column('lottery_number', sa.Integer(), nullable=True),
    sa.Column('claim_code_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pseudonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_household_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('claim_code_hash', name=op.f('uq_household_claim_code_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_household_user_id'))
    )
    op.create_table('child',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_child_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child'))
    )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_last_name'), ['last_name'], unique=False)

    op.create_table('guardian',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_guardian_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian'))
    )
    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_household_id'), ['household_id'], unique=False)

    op.create_table('application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'in_review', 'query', 'released', 'offered', 'accepted', 'accepted_waiting', 'enrolled', 'waitlist', 'rejected', 'withdrawn', 'declined', 'expired', name='status', native_enum=False, length=20), nullable=False),
    sa.Column('care_type', sa.Enum('krippe', 'kindergarten', 'hort', name='caretype', native_enum=False, length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('weekly_hours', sa.Integer(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('sibling_group', sa.String(length=40), nullable=True),
    sa.Column('source', sa.Enum('online', 'office', 'import', name='source', native_enum=False, length=10), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('flag_reason', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('legal_hold_reason', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconfirm_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconfirm_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconfirm_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconfirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retention_notice_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pseudonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('weekly_hours IS NULL OR weekly_hours BETWEEN 1 AND 60', name=op.f('ck_application_hours')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_application_child_id_child')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_application_created_by_id_user')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['application.id'], name=op.f('fk_application_merged_into_id_application')),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_application_round_id_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application')),
    sa.UniqueConstraint('reference', name=op.f('uq_application_reference'))
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_care_type'), ['care_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_pseudonymised_at'), ['pseudonymised_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_sibling_group'), ['sibling_group'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index('uq_application_open_child_round', ['child_id', 'round_id'], unique=True, sqlite_where=sa.text("status NOT IN ('enrolled', 'rejected', 'withdrawn', 'declined', 'expired')"), postgresql_where=sa.text("status NOT IN ('enrolled', 'rejected', 'withdrawn', 'declined', 'expired')"))

    op.create_table('allocation_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('lock', 'ban', name='overridekind', native_enum=False, length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_allocation_override_application_id_application')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_allocation_override_created_by_id_user')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_allocation_override_facility_id_facility')),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_allocation_override_round_id_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_override')),
    sa.UniqueConstraint('round_id', 'application_id', 'facility_id', name=op.f('uq_allocation_override_round_id_application_id_facility_id'))
    )
    with op.batch_alter_table('allocation_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_override_round_id'), ['round_id'], unique=False)

    op.create_table('application_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('declared', sa.Boolean(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_application_criterion_application_id_application')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_application_criterion_facility_id_facility')),
    sa.ForeignKeyConstraint(['rule_id'], ['priority_rule.id'], name=op.f('fk_application_criterion_rule_id_priority_rule')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['user.id'], name=op.f('fk_application_criterion_verified_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_criterion')),
    sa.UniqueConstraint('application_id', 'rule_id', 'facility_id', name=op.f('uq_application_criterion_application_id_rule_id_facility_id'))
    )
    with op.batch_alter_table('application_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_criterion_application_id'), ['application_id'], unique=False)

    op.create_table('internal_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_internal_note_application_id_application')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_internal_note_author_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_note'))
    )
    with op.batch_alter_table('internal_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_internal_note_application_id'), ['application_id'], unique=False)

    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('care_type', sa.Enum('krippe', 'kindergarten', 'hort', name='caretype', native_enum=False, length=16), nullable=False),
    sa.Column('wish_rank', sa.Integer(), nullable=True),
    sa.Column('alternative', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'declined', 'expired', 'released', 'withdrawn', name='offerstatus', native_enum=False, length=12), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('keeps_waiting', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_offer_application_id_application')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_offer_facility_id_facility')),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_run.id'], name=op.f('fk_offer_run_id_allocation_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer'))
    )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_status'), ['status'], unique=False)
        batch_op.create_index('uq_offer_open_application', ['application_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('outbox_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sent', 'dead', 'letter', name='mailstatus', native_enum=False, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_outbox_mail_application_id_application')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_outbox_mail_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mail')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_mail_message_id'))
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_mail_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_to_address'), ['to_address'], unique=False)

    op.create_table('status_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'submitted', 'in_review', 'query', 'released', 'offered', 'accepted', 'accepted_waiting', 'enrolled', 'waitlist', 'rejected', 'withdrawn', 'declined', 'expired', name='status', native_enum=False, length=20), nullable=True),
    sa.Column('to_status', sa.Enum('draft', 'submitted', 'in_review', 'query', 'released', 'offered', 'accepted', 'accepted_waiting', 'enrolled', 'waitlist', 'rejected', 'withdrawn', 'declined', 'expired', name='status', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_status_event_actor_id_user')),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_status_event_application_id_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_event'))
    )
    with op.batch_alter_table('status_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_event_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_event_created_at'), ['created_at'], unique=False)

    op.create_table('wish',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.CheckConstraint('rank BETWEEN 1 AND 5', name=op.f('ck_wish_rank')),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_wish_application_id_application')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_wish_facility_id_facility')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wish')),
    sa.UniqueConstraint('application_id', 'facility_id', name=op.f('uq_wish_application_id_facility_id')),
    sa.UniqueConstraint('application_id', 'rank', name=op.f('uq_wish_application_id_rank'))
    )
    with op.batch_alter_table('wish', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wish_facility_id'), ['facility_id'], unique=False)

    op.create_table('enrollment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('confirmed', 'refused', name='enrollmentstatus', native_enum=False, length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_enrollment_decided_by_id_user')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_enrollment_facility_id_facility')),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_enrollment_offer_id_offer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment')),
    sa.UniqueConstraint('offer_id', name=op.f('uq_enrollment_offer_id'))
    )
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_facility_id'), ['facility_id'], unique=False)



def downgrade():
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_facility_id'))

    op.drop_table('enrollment')
    with op.batch_alter_table('wish', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wish_facility_id'))

    op.drop_table('wish')
    with op.batch_alter_table('status_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_event_created_at'))
        batch_op.drop_index(batch_op.f('ix_status_event_application_id'))

    op.drop_table('status_event')
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mail_to_address'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_household_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_created_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_application_id'))

    op.drop_table('outbox_mail')
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index('uq_offer_open_application', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_offer_status'))
        batch_op.drop_index(batch_op.f('ix_offer_facility_id'))
        batch_op.drop_index(batch_op.f('ix_offer_deadline'))
        batch_op.drop_index(batch_op.f('ix_offer_application_id'))

    op.drop_table('offer')
    with op.batch_alter_table('internal_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_internal_note_application_id'))

    op.drop_table('internal_note')
    with op.batch_alter_table('application_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_criterion_application_id'))

    op.drop_table('application_criterion')
    with op.batch_alter_table('allocation_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_override_round_id'))

    op.drop_table('allocation_override')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('uq_application_open_child_round', sqlite_where=sa.text("status NOT IN ('enrolled', 'rejected', 'withdrawn', 'declined', 'expired')"), postgresql_where=sa.text("status NOT IN ('enrolled', 'rejected', 'withdrawn', 'declined', 'expired')"))
        batch_op.drop_index(batch_op.f('ix_application_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_application_status'))
        batch_op.drop_index(batch_op.f('ix_application_sibling_group'))
        batch_op.drop_index(batch_op.f('ix_application_round_id'))
        batch_op.drop_index(batch_op.f('ix_application_pseudonymised_at'))
        batch_op.drop_index(batch_op.f('ix_application_child_id'))
        batch_op.drop_index(batch_op.f('ix_application_care_type'))

    op.drop_table('application')
    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_household_id'))

    op.drop_table('guardian')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_last_name'))
        batch_op.drop_index(batch_op.f('ix_child_household_id'))

    op.drop_table('child')
    op.drop_table('household')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_object_type'))
        batch_op.drop_index(batch_op.f('ix_audit_event_object_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.drop_index('uq_allocation_run_active_round', sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
        batch_op.drop_index(batch_op.f('ix_allocation_run_round_id'))

    op.drop_table('allocation_run')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_facility_id'))

    op.drop_table('user')
    op.drop_table('facility_care_type')
    with op.batch_alter_table('capacity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capacity_round_id'))
        batch_op.drop_index(batch_op.f('ix_capacity_facility_id'))

    op.drop_table('capacity')
    op.drop_table('setting')
    op.drop_table('scheduler_lock')
    op.drop_table('round')
    op.drop_table('reference_counter')
    op.drop_table('priority_rule')
    with op.batch_alter_table('failed_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_login_email'))
        batch_op.drop_index(batch_op.f('ix_failed_login_created_at'))

    op.drop_table('failed_login')
    with op.batch_alter_table('facility', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facility_district'))

    op.drop_table('facility')
