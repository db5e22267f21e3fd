"""Open Referral HSDS feeds: the JSON API shapes of HSDS 3.0 and the tabular data packages of
HSDS 1.x/2.x and 3.0, read into listings (kind "service").

What is read
------------
* A JSON file: one `service_full` document, a `service_list` (the API's paginated `Page`
  envelope; only the `contents` of the page in the file are read), a bare array of services,
  a `service_at_location_full` document or a page of them, or an `organization_full` with its
  `services`.
* A directory: a tabular data package. Tables are found through `datapackage.json` (resource
  name -> path) and otherwise by their usual file names, so one code path reads both layouts:
  HSDS 3.0 (`services.csv`, `locations.csv`, `service_at_location.csv`, `addresses.csv` with an
  `address_type`, `schedules.csv` with iCal rules, `languages.csv` with ISO codes, ...) and
  HSDS 1.x/2.x as in the Open211 Miami export (`services_at_location.csv`,
  `physical_addresses.csv`/`postal_addresses.csv`, `regular_schedules.csv` with a `weekday`,
  free-text `languages.csv`, `accessibility_for_disabilities.csv`, ...). Ohana API's pre-HSDS
  CSVs (a `location_id` on `services.csv`, `mail_addresses.csv`) read the same way. Where
  the layouts differ in columns (an iCal `byday` against a 1.x `weekday`), each row is read by
  the columns it has.

One listing per service at a physical location; a service at three places is three listings
with ids `source:service_id.location_id` (a service at one place keeps `source:service_id`).
A service with no physical location becomes one listing without a location, for the whole of
`options.country`: online when it has a virtual location or a website of its own, by phone
when it has a phone of its own (an organisation's website or phone says nothing about how
one of its services is delivered). A service whose only places cannot be placed (neither
coordinates nor an address) is a problem, not an online service.

Schedules
---------
HSDS 3.0 rows are iCal rules: WEEKLY (or DAILY) `byday` lists, and MONTHLY `byday` with an
occurrence (`1SA` first Saturday, `-1FR` last Friday; 1-4 and -1 only). Rules the listing
cannot express (an interval other than 1, `bymonthday`-only months, YEARLY) are dropped with a
problem. HSDS 1.x `regular_schedules` rows give a `weekday` as a name (Open211 Miami:
"Monday") or a number, read as ISO 8601 (Monday = 1 ... Sunday = 7, 0 also Sunday). Times
are local wall-clock times in the listing's zone; validity dates are not applied.

What is left to later steps
---------------------------
HSDS says nothing about approach, goals, substances, facilitation or audiences: those are left
out and named in `Record.defaults_allowed` so the pipeline fills the program's stance (for a
service of unknown program: clinical, every goal, any substance). Missing or unusable
coordinates are left as None for the pipeline to geocode from the address.

Problems
--------
An entry that cannot become a listing is yielded with `data=None` and its problems. An entry
that loads but lost something on the way (a schedule row that could not be read, an e-mail
address that is not one, coordinates out of range) is yielded with its data *and* those
problems, which the pipeline reports as warnings. Problems name the field by the feed's table
and column ("location.latitude", "schedule.byday", "regular_schedule.weekday"), and those
about rows of child tables name the file and row in their text ("schedules.csv row 7: ...");
the record's position names the service's own row ("services.csv row 12") or JSON item
("service_list item 3"), its `record_id` and `record_name` the service's id and name.

Modules
-------
`documents` reads the JSON shapes and `tables` the tabular packages, each into service objects
in the `service_full` shape; `listings` makes the records of one service, with
`service_fields` (status, cost, referral, contact, place, languages, accessibility) and
`sessions` (schedules and the time zone); `rows` holds what they share about a row or object
(its position, the problems of its bytes) and its values as clean text, numbers and dates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from indexers.records import ReadOptions, Record
from indexers.sources.hsds.documents import read_json
from indexers.sources.hsds.listings import STANCE_FIELDS
from indexers.sources.hsds.tables import read_package


def read_hsds(path: Path, options: ReadOptions) -> Iterator[Record]:
    """Records from an HSDS JSON file or tabular data package directory (see the module text).

    Never raises for bad content: unreadable files, tables and rows come back as records with
    `data=None` and problems naming the file, row and field.
    """
    path = Path(path)
    if path.is_dir():
        yield from read_package(path, options)
    else:
        yield from read_json(path, options)


__all__ = ["STANCE_FIELDS", "read_hsds"]
