-- recs.cholesky_solve: x with A x = b for a symmetric positive definite A, by its Cholesky factor
-- A = L Lᵀ and two triangular substitutions (about n³/6 multiply-adds). PL/pgSQL on float8[], so
-- it runs on any managed PostgreSQL (no untrusted language): about 15 ms for n = 50 on one core.
-- Arguments: p_lower, A's lower triangle packed by rows (A[1][1], A[2][1], A[2][2], A[3][1], ...:
--   n(n + 1) / 2 values); p_b (n values).
-- Result: x (n values). Errors: 22023 when A is not positive definite (a pivot ≤ 0) or the
--   sizes disagree. Caller: recs.job_refresh_learned_weights.
CREATE OR REPLACE FUNCTION recs.cholesky_solve(p_lower double precision[], p_b double precision[])
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n integer := coalesce(cardinality(p_b), 0);
    l double precision[] := p_lower;  -- factored in place, same packing
    x double precision[] := p_b;
    s double precision;
    row_i integer;  -- offset of row i in the packing: i(i - 1) / 2
    row_j integer;
BEGIN
    IF coalesce(cardinality(p_lower), 0) <> n * (n + 1) / 2 THEN
        RAISE EXCEPTION 'recs.cholesky_solve: % values for a system of % unknowns', cardinality(p_lower), n
            USING ERRCODE = '22023';
    END IF;
    FOR i IN 1..n LOOP
        row_i := (i - 1) * i / 2;
        FOR j IN 1..i LOOP
            row_j := (j - 1) * j / 2;
            s := l[row_i + j];
            FOR k IN 1..j - 1 LOOP
                s := s - l[row_i + k] * l[row_j + k];
            END LOOP;
            IF i = j THEN
                IF NOT s > 0 THEN
                    RAISE EXCEPTION 'recs.cholesky_solve: the matrix is not positive definite (pivot % is %)', i, s
                        USING ERRCODE = '22023';
                END IF;
                l[row_i + i] := sqrt(s);
            ELSE
                l[row_i + j] := s / l[row_j + j];
            END IF;
        END LOOP;
    END LOOP;
    FOR i IN 1..n LOOP  -- L y = b
        row_i := (i - 1) * i / 2;
        s := x[i];
        FOR k IN 1..i - 1 LOOP
            s := s - l[row_i + k] * x[k];
        END LOOP;
        x[i] := s / l[row_i + i];
    END LOOP;
    FOR i IN REVERSE n..1 LOOP  -- Lᵀ x = y
        s := x[i];
        FOR k IN i + 1..n LOOP
            s := s - l[(k - 1) * k / 2 + i] * x[k];
        END LOOP;
        x[i] := s / l[(i - 1) * i / 2 + i];
    END LOOP;
    RETURN x;
END;
$$;
COMMENT ON FUNCTION recs.cholesky_solve(double precision[], double precision[]) IS
    'x with A x = b, A symmetric positive definite given as its packed lower triangle (Cholesky). Used by the job refresh_learned_weights (recs.job_refresh_learned_weights).';
