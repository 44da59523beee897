-- Version 6: the current failing results, found without reading every current result (the
-- findings lifecycle reads them on every sweep).
CREATE INDEX intervals_failing ON intervals (series_id) WHERE last_seen IS NULL AND status = 'fail';
