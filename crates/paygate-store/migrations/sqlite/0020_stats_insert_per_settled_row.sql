-- PostgreSQL only (its rollup insert trigger became a row trigger that skips
-- unsettled rows); SQLite's rollups count every status, so every insert
-- reaches them anyway.
SELECT 1;
