-- PostgreSQL twin of ../008_agency_version.sql.
ALTER TABLE agency ADD COLUMN version text NOT NULL DEFAULT '';
