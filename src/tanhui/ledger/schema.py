"""The invariants the database itself holds, for SQLite and PostgreSQL alike.

- Transfers and roots are append-only: UPDATE and DELETE are refused. Accounts and balances cannot
  be deleted. (PostgreSQL still allows TRUNCATE, an owner-only operation that test databases use
  to reset.)
- Creating an account creates its balance row; only an issuance account's may go below zero.
- Inserting a transfer moves its amounts from the debit to the credit account's balance; the
  balances' CHECK constraint `ledger_balance_non_negative` then refuses any overdraft. A transfer
  naming an unknown account is refused.
- Each transfer balances by construction (see models.Transfer and its CHECK constraints).

SQLite runs row triggers; PostgreSQL statement triggers, so that one COPY of a batch updates each
touched balance once, with the summed amounts. On PostgreSQL the transfer id sequence also steps by
`ID_BLOCK` (see services._new_ids). Installed by migration 0002. A later migration that makes Django
rebuild a ledger table on SQLite (most ALTERs do) drops its triggers and must run `install` again.
"""

APPEND_ONLY = ("ledger_transfer", "ledger_root")
UNDELETABLE = ("ledger_account", "ledger_balance")
ID_BLOCK = 1024  # PostgreSQL hands transfer ids out in blocks: one nextval per 1,024 transfers

SQLITE_TRIGGERS = ("""
CREATE TRIGGER ledger_account_open AFTER INSERT ON ledger_account BEGIN
  INSERT INTO ledger_balance (id, points, mg_co2e, overdraft) VALUES (NEW.id, 0, 0, NEW.kind = 'issuance');
END
""", """
CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer BEGIN
  UPDATE ledger_balance SET points = points - NEW.points, mg_co2e = mg_co2e - NEW.mg_co2e
   WHERE id = NEW.debit_id;
  SELECT RAISE(ABORT, 'ledger: transfer from an unknown account') WHERE changes() = 0;
  UPDATE ledger_balance SET points = points + NEW.points, mg_co2e = mg_co2e + NEW.mg_co2e
   WHERE id = NEW.credit_id;
  SELECT RAISE(ABORT, 'ledger: transfer to an unknown account') WHERE changes() = 0;
END
""")

SQLITE_REFUSE = """
CREATE TRIGGER {table}_no_{name} BEFORE {verb} ON {table} BEGIN
  SELECT RAISE(ABORT, 'ledger is append-only: {verb} on {table} refused');
END
"""

POSTGRES_TRIGGERS = """
CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE OR REPLACE FUNCTION ledger_open_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_balance (id, points, mg_co2e, overdraft)
  SELECT id, 0, 0, kind = 'issuance' FROM new_accounts;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_apply_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  accounts bigint;
  updated bigint;
BEGIN
  SELECT count(*) INTO accounts
    FROM (SELECT debit_id FROM new_transfers UNION SELECT credit_id FROM new_transfers) touched;
  UPDATE ledger_balance b SET points = b.points + d.points, mg_co2e = b.mg_co2e + d.mg_co2e
    FROM (SELECT account_id, sum(points) AS points, sum(mg_co2e) AS mg_co2e
            FROM (SELECT debit_id AS account_id, -points AS points, -mg_co2e AS mg_co2e FROM new_transfers
                  UNION ALL
                  SELECT credit_id, points, mg_co2e FROM new_transfers) legs
           GROUP BY account_id) d
   WHERE b.id = d.account_id;
  GET DIAGNOSTICS updated = ROW_COUNT;
  IF updated <> accounts THEN
    RAISE EXCEPTION 'ledger: transfer to an unknown account' USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_account_open AFTER INSERT ON ledger_account
  REFERENCING NEW TABLE AS new_accounts FOR EACH STATEMENT EXECUTE FUNCTION ledger_open_balances();
CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer
  REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_transfers();

-- Balances change on every posting: room on each page lets PostgreSQL update them in place (HOT).
ALTER TABLE ledger_balance SET (fillfactor = 50);
"""

POSTGRES_REFUSE = """
CREATE TRIGGER {table}_refuse BEFORE {verbs} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()
"""


def _refusals() -> list[tuple[str, str]]:
    return [(table, verb) for table in APPEND_ONLY for verb in ("UPDATE", "DELETE")] + [
        (table, "DELETE") for table in UNDELETABLE]


def _sqlite_statements() -> list[str]:
    return [*SQLITE_TRIGGERS, *(SQLITE_REFUSE.format(table=table, verb=verb, name=verb.lower())
                                for table, verb in _refusals())]


def _postgres_statements() -> list[str]:
    verbs: dict[str, list[str]] = {}
    for table, verb in _refusals():
        verbs.setdefault(table, []).append(verb)
    return [POSTGRES_TRIGGERS, f"ALTER TABLE ledger_transfer ALTER COLUMN id SET INCREMENT BY {ID_BLOCK}",
            *(POSTGRES_REFUSE.format(table=table, verbs=" OR ".join(v)) for table, v in verbs.items())]


def install(apps, schema_editor) -> None:
    """Creates the triggers (again: existing ones are replaced)."""
    uninstall(apps, schema_editor)
    sqlite = schema_editor.connection.vendor == "sqlite"
    with schema_editor.connection.cursor() as cursor:
        for sql in _sqlite_statements() if sqlite else _postgres_statements():
            cursor.execute(sql)


def uninstall(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'ledger%'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
        else:
            for table in (*APPEND_ONLY, *UNDELETABLE):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_refuse ON {table}")
            cursor.execute("DROP TRIGGER IF EXISTS ledger_account_open ON ledger_account")
            cursor.execute("DROP TRIGGER IF EXISTS ledger_transfer_apply ON ledger_transfer")
            cursor.execute("DROP FUNCTION IF EXISTS ledger_apply_transfers(), ledger_open_balances(), ledger_refuse()")
            cursor.execute("ALTER TABLE ledger_transfer ALTER COLUMN id SET INCREMENT BY 1")
