-- PostgreSQL twin of ../012_own_schedules.sql.
ALTER TABLE people ADD COLUMN schedule_by_chat integer NOT NULL DEFAULT 0;
