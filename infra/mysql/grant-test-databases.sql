-- Docker Compose only: lets the application user create the tests' throw-away databases
-- (segmentation_test_*), as `segment stack up` does for the local MariaDB.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, LOCK TABLES
  ON `segmentation\_%`.* TO 'segmentation'@'%';
