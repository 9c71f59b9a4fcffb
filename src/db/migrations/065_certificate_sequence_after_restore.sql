-- After a restore (Postgres from an older backup, or only some tables), the certificate
-- sequence can stand behind numbers already issued: the next case would get a number
-- another case already holds. This function moves the sequence past every number known
-- here: those in registration_certificates and those the read model holds (a case
-- rewritten from Temporal history by `npm run reconcile` carries its number in its
-- snapshot even when the certificate row was lost). It never moves the sequence back.
-- src/db/migrate.ts calls it after every migration run, i.e. at every start-up, and
-- `npm run reconcile` after rewriting cases (docs/deployment.md).
CREATE OR REPLACE FUNCTION align_registration_certificate_seq() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  issued bigint;
  current_value bigint;
  was_called boolean;
BEGIN
  SELECT greatest(
    (SELECT max(sequence) FROM registration_certificates),
    (SELECT max((substring(details->>'certificateNo' FROM '第([0-9]+)号'))::bigint)
       FROM cases WHERE type = 'registration' AND details->>'certificateNo' IS NOT NULL)
  ) INTO issued;
  SELECT last_value, is_called INTO current_value, was_called FROM registration_certificate_seq;
  -- The next nextval() returns current_value + 1 once called, current_value before.
  IF issued IS NOT NULL AND (CASE WHEN was_called THEN current_value ELSE current_value - 1 END) < issued THEN
    PERFORM setval('registration_certificate_seq', issued, true);
    RETURN issued;
  END IF;
  RETURN CASE WHEN was_called THEN current_value ELSE current_value - 1 END;
END;
$$;
