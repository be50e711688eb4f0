-- Runs once, when PostgreSQL's data directory is first initialised: one database per
-- service (each service owns its own; none reads another's).
CREATE DATABASE enrollment;
CREATE DATABASE certification;
CREATE DATABASE notifications;
CREATE DATABASE directory;
