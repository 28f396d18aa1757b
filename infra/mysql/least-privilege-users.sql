-- Docker Compose only (mounted into /docker-entrypoint-initdb.d, run once on an empty volume):
-- the two users `segment stack up` makes for the local MariaDB (infra/stack/mysql-server.ts),
-- with the same passwords as the default MYSQL_URL and MYSQL_MIGRATION_URL.
--
-- docker-compose.yml sets MYSQL_DATABASE but not MYSQL_USER: mysql:8.4's entrypoint would grant
-- that user ALL on the database, the very thing the worker's user must not have.
--
-- Both users reach `segmentation` and the tests' throw-away databases named after it
-- (segmentation_test_*). test/unit/docker-compose.test.ts checks these grants against the stack's.
-- They are at '%' (the local stack's are at the loopback hosts only): programs on the host reach
-- the container through Docker's NAT, not from the container's own loopback.

-- The worker's user: reads the database; its rows come from the role, table by table, which the
-- migrations' user grants as it makes the tables (lib/worker-grants.ts): never knex_migrations.
CREATE ROLE 'segmentation_writer';
CREATE USER 'segmentation'@'%' IDENTIFIED BY 'segmentation';
GRANT SELECT ON `segmentation`.* TO 'segmentation'@'%';
GRANT SELECT ON `segmentation\_%`.* TO 'segmentation'@'%';
GRANT 'segmentation_writer' TO 'segmentation'@'%';
SET DEFAULT ROLE 'segmentation_writer' TO 'segmentation'@'%';

-- The migrations' user (`segment migrate`): the schema as well, and GRANT OPTION for the role.
CREATE USER 'segmentation_migrator'@'%' IDENTIFIED BY 'segmentation_migrator';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES
  ON `segmentation`.* TO 'segmentation_migrator'@'%' WITH GRANT OPTION;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES
  ON `segmentation\_%`.* TO 'segmentation_migrator'@'%' WITH GRANT OPTION;
