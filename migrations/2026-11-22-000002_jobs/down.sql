DROP TABLE job_schedules;
DROP TRIGGER jobs_notify_ready_trigger ON jobs;
DROP FUNCTION jobs_notify_ready();
DROP TABLE jobs;
