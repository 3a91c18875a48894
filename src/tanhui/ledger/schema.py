"""The invariants the database itself holds, for SQLite and PostgreSQL alike.

- Transfers and roots are append-only: UPDATE and DELETE are refused. (PostgreSQL still allows
  TRUNCATE, an owner-only operation that test databases use to reset.) Accounts cannot be deleted.
- Inserting a transfer moves its amounts from the debit to the credit account's balance; the
  accounts' CHECK constraint `ledger_account_non_negative` then refuses any balance below zero
  except issuance's. A transfer naming an unknown account is refused.
- Each transfer balances by construction (see models.Transfer and its CHECK constraints).

SQLite runs a row trigger; PostgreSQL one statement trigger per INSERT/COPY that updates each
touched account once, with the summed amounts. On PostgreSQL the transfer id sequence also steps by
`ID_BLOCK` (see services._new_ids). Installed by migration 0002. A later migration that
makes Django rebuild a ledger table on SQLite (most ALTERs do) drops its triggers and must run
`install` again.
"""

APPEND_ONLY = ("ledger_transfer", "ledger_root")
ID_BLOCK = 1024  # PostgreSQL hands transfer ids out in blocks: one nextval per 1,024 transfers

SQLITE_APPLY = """
CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer BEGIN
  UPDATE ledger_account SET points = points - NEW.points, mg_co2e = mg_co2e - NEW.mg_co2e
   WHERE id = NEW.debit_id;
  SELECT RAISE(ABORT, 'ledger: transfer from an unknown account') WHERE changes() = 0;
  UPDATE ledger_account SET points = points + NEW.points, mg_co2e = mg_co2e + NEW.mg_co2e
   WHERE id = NEW.credit_id;
  SELECT RAISE(ABORT, 'ledger: transfer to an unknown account') WHERE changes() = 0;
END
"""

SQLITE_REFUSE = """
CREATE TRIGGER {table}_no_{name} BEFORE {verb} ON {table} BEGIN
  SELECT RAISE(ABORT, 'ledger is append-only: {verb} on {table} refused');
END
"""

POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE OR REPLACE FUNCTION ledger_apply_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  accounts bigint;
  updated bigint;
BEGIN
  SELECT count(*) INTO accounts
    FROM (SELECT debit_id FROM new_transfers UNION SELECT credit_id FROM new_transfers) touched;
  UPDATE ledger_account a SET points = a.points + d.points, mg_co2e = a.mg_co2e + d.mg_co2e
    FROM (SELECT account_id, sum(points) AS points, sum(mg_co2e) AS mg_co2e
            FROM (SELECT debit_id AS account_id, -points AS points, -mg_co2e AS mg_co2e FROM new_transfers
                  UNION ALL
                  SELECT credit_id, points, mg_co2e FROM new_transfers) legs
           GROUP BY account_id) d
   WHERE a.id = d.account_id;
  GET DIAGNOSTICS updated = ROW_COUNT;
  IF updated <> accounts THEN
    RAISE EXCEPTION 'ledger: transfer to an unknown account' USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer
  REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_transfers();
"""

POSTGRES_REFUSE = """
CREATE TRIGGER {table}_append_only BEFORE {verbs} ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()
"""


def _sqlite_statements() -> list[str]:
    refusals = [(table, verb) for table in APPEND_ONLY for verb in ("UPDATE", "DELETE")]
    refusals.append(("ledger_account", "DELETE"))
    return [SQLITE_APPLY] + [SQLITE_REFUSE.format(table=table, verb=verb, name=verb.lower())
                            for table, verb in refusals]


def _postgres_statements() -> list[str]:
    refusals = [(table, "UPDATE OR DELETE") for table in APPEND_ONLY] + [("ledger_account", "DELETE")]
    tuning = [
        # Balances change on every posting: room on each page lets PostgreSQL update them in place
        # (HOT) instead of adding index entries for every new row version.
        "ALTER TABLE ledger_account SET (fillfactor = 50)",
        f"ALTER TABLE ledger_transfer ALTER COLUMN id SET INCREMENT BY {ID_BLOCK}",
    ]
    return [POSTGRES_FUNCTIONS, *tuning] + [POSTGRES_REFUSE.format(table=table, verbs=verbs)
                                            for table, verbs in refusals]


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
            for table in (*APPEND_ONLY, "ledger_account"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            cursor.execute("DROP TRIGGER IF EXISTS ledger_transfer_apply ON ledger_transfer")
            cursor.execute("DROP FUNCTION IF EXISTS ledger_apply_transfers(), ledger_refuse()")
            cursor.execute("ALTER TABLE ledger_transfer ALTER COLUMN id SET INCREMENT BY 1")
