-- The requisites pool serves two kinds of waiting payment that must never
-- share an address: merchant payins on the manual provider ('payins') and
-- exchange orders paid in crypto ('exchange'). Each entry belongs to one.
ALTER TABLE requisites ADD COLUMN purpose TEXT NOT NULL DEFAULT 'payins' CHECK (purpose IN ('payins', 'exchange'));
