-- Placeholder: the unsubscribe key's migration lands here.
SELECT 1;
