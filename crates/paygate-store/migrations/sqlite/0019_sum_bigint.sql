-- PostgreSQL's 0019 adds an aggregate that sums BIGINTs without NUMERIC.
-- SQLite's SUM of integers is already an integer (and raises an error on
-- overflow), so there is nothing to add here.
SELECT 1;
