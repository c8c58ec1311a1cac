/**
 * The few real totesys values the generator reproduces (copied from the 2024-11-15 snapshot so
 * nothing reads ../shared at run time) and small word lists for made-up names and addresses.
 */

/** Real departments, including the real "Leds" typo in Dispatch's location (do not fix it). */
export const DEPARTMENTS = [
  { name: 'Sales', location: 'Manchester', manager: 'Richard Roma' },
  { name: 'Purchasing', location: 'Manchester', manager: 'Naomi Lapaglia' },
  { name: 'Production', location: 'Leeds', manager: 'Chester Ming' },
  { name: 'Dispatch', location: 'Leds', manager: 'Mark Hanna' },
  { name: 'Finance', location: 'Manchester', manager: 'Jordan Belfort' },
  { name: 'Facilities', location: 'Manchester', manager: 'Shelley Levene' },
  { name: 'Communications', location: 'Leeds', manager: 'Ann Blake' },
  { name: 'HR', location: 'Leeds', manager: 'James Link' },
] as const;

/** Real currencies in id order (1 GBP, 2 USD, 3 EUR). */
export const CURRENCY_CODES = ['GBP', 'USD', 'EUR'] as const;

/** Real payment types in id order; only SALES_RECEIPT (1) and PURCHASE_PAYMENT (3) are ever used. */
export const PAYMENT_TYPE_NAMES = ['SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND'] as const;
export const SALES_RECEIPT_ID = 1;
export const PURCHASE_PAYMENT_ID = 3;

/** Real design materials and the Unix-ish folders real designs live in. */
export const DESIGN_MATERIALS = ['Steel', 'Soft', 'Granite', 'Concrete', 'Frozen', 'Bronze', 'Plastic', 'Cotton', 'Metal', 'Fresh', 'Wooden', 'Rubber'] as const;
export const DESIGN_FOLDERS = [
  '/net', '/usr/libexec', '/usr', '/etc', '/usr/ports', '/usr/share', '/etc/periodic', '/usr/local/src', '/opt/lib',
  '/selinux', '/home/user/dir', '/lost+found', '/etc/ppp', '/usr/libdata', '/etc/namedb', '/bin', '/private', '/System',
  '/Users', '/etc/mail', '/var/log', '/var/tmp', '/opt/sbin', '/boot/defaults', '/sys', '/usr/X11R6', '/root', '/lib',
  '/opt', '/usr/lib', '/Library', '/var/yp', '/etc/defaults', '/Applications', '/sbin', '/dev', '/usr/obj', '/usr/src',
  '/var', '/boot', '/home', '/usr/include', '/opt/include', '/usr/sbin', '/private/tmp', '/mnt', '/proc', '/usr/bin',
  '/srv', '/opt/bin', '/rescue', '/opt/share', '/private/var', '/home/user', '/usr/local/bin', '/Network', '/var/spool',
  '/var/mail', '/media', '/tmp',
] as const;

export const STAFF_EMAIL_DOMAIN = 'terrifictotes.com';

export const FIRST_NAMES = [
  'Jeremie', 'Deron', 'Jeanette', 'Ana', 'Magdalena', 'Korey', 'Raphael', 'Oswaldo', 'Brody', 'Jazmyn', 'Meda', 'Imani',
  'Stan', 'Rigoberto', 'Tom', 'Pierre', 'Lucy', 'Melba', 'Jane', 'Taylor', 'Homer', 'Florence', 'Wilma', 'Emily',
  'Sheryl', 'Simon', 'Ivan', 'Eva', 'Myra', 'Alfredo', 'Christy', 'Veronica', 'Nadia', 'Otis', 'Gemma', 'Ruben',
  'Harriet', 'Milo', 'Priya', 'Dario', 'Leona', 'Caleb', 'Ines', 'Tobias', 'Maeve', 'Quentin', 'Rosa', 'Felix',
] as const;

export const LAST_NAMES = [
  'Franey', 'Beier', 'Erdman', 'Glover', 'Zieme', 'Hayes', 'Rippin', 'Bergstrom', 'Ratke', 'Kuhn', 'Mayer', 'Hammes',
  'Lehner', 'Fahey', 'Leannon', 'Predovic', 'Morar', 'Armstrong', 'Kohler', 'Frami', 'Yundt', 'Macejkovic', 'Mraz',
  'Padberg', 'Grant', 'Lakin', 'Price', 'Herzog', 'Rogahn', 'Upton', 'Durgan', 'Bernier', 'Toy', 'Sanford', 'Hane',
  'Wiza', 'Kovacek', 'Haag', 'Cassin', 'Mitchell', 'Balistreri', 'Casper', 'Witting', 'Orn', 'Fay', 'Langworth',
  'Schoen', 'Okuneva', 'Gleason', 'Wunsch', 'Bartell', 'Stroman', 'Jakubowski', 'Dibbert',
] as const;

export const STREET_SUFFIXES = [
  'Via', 'Cliffs', 'Fort', 'Skyway', 'Track', 'Island', 'Ways', 'Common', 'Garden', 'Flat', 'Mission', 'Circles',
  'Lodge', 'Crossing', 'Meadow', 'Row', 'Terrace', 'Hollow', 'Glen', 'Parkway',
] as const;
export const CITY_SUFFIXES = ['burgh', 'side', 'cester', 'ton', 'ville', 'ford', 'haven', 'mouth', 'borough', 'shire'] as const;
export const CITY_PREFIXES = ['New ', 'North ', 'East ', 'Port ', 'Lake ', 'West ', 'South ', 'Fort '] as const;
export const DISTRICTS = ['Avon', 'Bedfordshire', 'Buckinghamshire', 'Borders', 'Cambridgeshire', 'Cheshire', 'Cornwall', 'Cumbria', 'Devon', 'Dorset'] as const;
export const COUNTRIES = [
  'Turkey', 'San Marino', 'Samoa', 'Republic of Korea', 'Bosnia and Herzegovina', 'Zimbabwe', 'Faroe Islands',
  'United Kingdom', 'Australia', 'Japan', 'Austria', 'Chile', 'Estonia', 'Guatemala', 'Iceland', 'Kenya', 'Lithuania',
  'Mongolia', 'Nepal', 'Peru', 'Portugal', 'Uruguay',
] as const;
export const COMPANY_SUFFIXES = [' and Sons', ' Inc', ' LLC', ' Group', ' - {name}', ', {name} and {name}'] as const;
export const HONORIFICS = ['Mr. ', 'Mrs. ', 'Ms. ', 'Dr. '] as const;
export const NAME_SUFFIXES = [' II', ' III', ' Jr.', ' Sr.'] as const;
export const ITEM_CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const FILE_SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
