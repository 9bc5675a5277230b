-- A neutralized copy of a database must never talk to the real KoBo servers.
UPDATE kobo_server
   SET token = NULL,
       state = 'draft';
