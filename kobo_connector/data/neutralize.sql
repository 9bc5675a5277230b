-- A neutralized copy of a database must never talk to the real KoBo servers.
UPDATE kobo_server
   SET token = NULL,
       state = 'draft';
-- issue 12: a neutralized copy does not accept KoBo pushes
UPDATE kobo_form
   SET push_secret = NULL;
