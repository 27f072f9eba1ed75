worker_processes 2
listen ENV.fetch("TANSA_TEST_PORT").to_i
timeout 30
