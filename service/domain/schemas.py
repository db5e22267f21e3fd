"""Marshmallow schemas for listings: validate what comes in, dump what goes out.

Loading returns frozen `Listing` dataclasses; errors name the field that failed, e.g.
`{"sessions": {"0": {"weekday": ["Must be one of: mon, tue, ..."]}}}`.
"""

from __future__ import annotations

import json
import keyword
import math
import re

import orjson
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    validate,
    validates,
    validates_schema,
)

from service.domain import vocab
from service.domain.models import Contact, FirstVisit, Listing, Location, Session, Source, maker
from service.domain.text import CONTROL_CHARACTERS
from service.domain.zones import known_zones

# Field lengths, in one place: the schema enforces them and feed readers cut text to them.
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_ADDRESS = 300
MAX_LOCALITY = 120
MAX_STATE = 40
MAX_POSTCODE = 12
MAX_PHONE = 40
MAX_CONFERENCE_PHONE = 120
MAX_SESSIONS = 60
MAX_LANGUAGES = 20
MAX_ID_PART = 120

# The characters of a listing id after its "source:" prefix; readers replace any other with "-".
ID_PART_CHARACTERS = "A-Za-z0-9_.:-"
ID_UNSAFE = re.compile(f"[^{ID_PART_CHARACTERS}]+")

# `Class(**values)`, quickly (see `models.maker`): every validated record and every listing
# rebuilt from an index makes one of each.
make_location, make_session, make_contact, make_first_visit, make_source, make_listing = map(
    maker, (Location, Session, Contact, FirstVisit, Source, Listing))

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class CleanString(fields.String):
    """A string field that rejects control characters and trims surrounding space."""

    def __init__(self, *args, max_length: int = 500, **kwargs):
        super().__init__(*args, validate=validate.Length(max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARACTERS.search(text):
            raise ValidationError("Contains control characters.")
        return text.strip()


def _choice_list(choices, *, required=True, allow_empty=False):
    """A list of vocabulary values, without duplicates."""
    return fields.List(
        fields.String(validate=validate.OneOf(choices)),
        required=required,
        validate=validate.Length(min=0 if allow_empty else 1, max=len(choices)),
    )


def _optional(field_cls, **kwargs):
    """A nullable field that defaults to None when absent."""
    return field_cls(load_default=None, allow_none=True, **kwargs)


class LocationSchema(Schema):
    """Where a listing meets."""

    class Meta:
        unknown = RAISE

    address = _optional(CleanString, max_length=MAX_ADDRESS)
    locality = _optional(CleanString, max_length=MAX_LOCALITY)
    state = _optional(CleanString, max_length=MAX_STATE)
    postcode = _optional(CleanString, max_length=MAX_POSTCODE)
    country = fields.String(load_default="AU", validate=validate.Regexp(r"^[A-Z]{2}$"))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    approximate = fields.Boolean(load_default=False)

    @post_load
    def make(self, data, **kwargs):
        return make_location(data)


class SessionSchema(Schema):
    """A weekly or monthly session in the listing's local time."""

    class Meta:
        unknown = RAISE

    weekday = fields.String(required=True, validate=validate.OneOf(vocab.WEEKDAYS))
    start = fields.String(
        required=True, validate=validate.Regexp(_HHMM, error="Must be HH:MM (24-hour).")
    )
    end = fields.String(
        required=True, validate=validate.Regexp(_HHMM, error="Must be HH:MM (24-hour).")
    )
    monthly = _optional(fields.String, validate=validate.OneOf(vocab.MONTHLY_RULES))

    @validates_schema
    def check_length(self, data, **kwargs):
        # An end earlier than the start means the session runs past midnight; equal
        # times would be a zero-length or 24-hour session, which is never meant.
        if data.get("start") and data.get("start") == data.get("end"):
            raise ValidationError("end must differ from start.", "end")

    @post_load
    def make(self, data, **kwargs):
        return make_session(data)


class ContactSchema(Schema):
    """Ways to reach or join."""

    class Meta:
        unknown = RAISE

    phone = _optional(CleanString, max_length=MAX_PHONE)
    email = _optional(fields.Email)
    website = _optional(fields.URL, schemes={"http", "https"})
    conference_url = _optional(fields.URL, schemes={"http", "https"})
    conference_phone = _optional(CleanString, max_length=MAX_CONFERENCE_PHONE)
    registration_url = _optional(fields.URL, schemes={"http", "https"})

    @post_load
    def make(self, data, **kwargs):
        return make_contact(data)


class FirstVisitSchema(Schema):
    """Newcomer notes."""

    class Meta:
        unknown = RAISE

    can_attend_while_using = _optional(fields.Boolean)
    camera_optional = _optional(fields.Boolean)
    no_need_to_speak = _optional(fields.Boolean)
    what_to_expect = _optional(CleanString, max_length=500)

    @post_load
    def make(self, data, **kwargs):
        return make_first_visit(data)


class SourceSchema(Schema):
    """Provenance."""

    class Meta:
        unknown = RAISE

    name = CleanString(required=True, max_length=MAX_NAME)
    url = _optional(fields.URL, schemes={"http", "https"})
    licence = _optional(CleanString, max_length=100)

    @post_load
    def make(self, data, **kwargs):
        return make_source(data)


class ListingSchema(Schema):
    """A whole listing; loads into `Listing`, dumps to the API's JSON shape."""

    class Meta:
        unknown = RAISE
        ordered = True

    id = fields.String(
        required=True,
        validate=validate.Regexp(
            rf"^[a-z0-9][a-z0-9_.-]*:[{ID_PART_CHARACTERS}]{{1,{MAX_ID_PART}}}$",
            error="Must be source:source_id (letters, digits, . _ - :).",
        ),
    )
    kind = fields.String(required=True, validate=validate.OneOf(vocab.KINDS))
    name = CleanString(required=True, max_length=200)
    description = CleanString(load_default="", max_length=MAX_DESCRIPTION)
    program = _optional(CleanString, max_length=120)
    approach = fields.String(required=True, validate=validate.OneOf(vocab.APPROACHES))
    goals = _choice_list(vocab.GOALS)
    substances = fields.List(
        fields.String(validate=validate.OneOf(vocab.SUBSTANCES)),
        load_default=lambda: ["any"],
        validate=validate.Length(min=1, max=len(vocab.SUBSTANCES)),
    )
    formats = _choice_list(vocab.FORMATS)
    audiences = fields.List(
        fields.String(validate=validate.OneOf(vocab.AUDIENCES)),
        load_default=lambda: ["everyone"],
        validate=validate.Length(min=1, max=len(vocab.AUDIENCES)),
    )
    facilitation = _optional(fields.String, validate=validate.OneOf(vocab.FACILITATION))
    languages = fields.List(
        fields.String(validate=validate.Regexp(_LANGUAGE, error="Must be a language code like en or zh-Hant.")),
        load_default=lambda: ["en"],
        validate=validate.Length(min=1, max=MAX_LANGUAGES),
    )
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    service_area = fields.List(
        fields.String(validate=validate.Regexp(r"^[A-Z]{2,3}(-[A-Z0-9]{1,3})?$")),
        load_default=list,
        validate=validate.Length(max=20),
    )
    timezone = fields.String(required=True)
    sessions = fields.List(
        fields.Nested(SessionSchema), load_default=list, validate=validate.Length(max=MAX_SESSIONS)
    )
    open_24_7 = fields.Boolean(load_default=False)
    contact = fields.Nested(ContactSchema, load_default=lambda: {})
    registration_required = fields.Boolean(load_default=False)
    open_meeting = fields.Boolean(load_default=True)
    cost = fields.String(load_default="free", validate=validate.OneOf(vocab.COSTS))
    referral = fields.String(load_default="self", validate=validate.OneOf(vocab.REFERRALS))
    accessibility = fields.List(
        fields.String(validate=validate.OneOf(vocab.ACCESSIBILITY)), load_default=list
    )
    first_visit = fields.Nested(FirstVisitSchema, load_default=lambda: {})
    source = fields.Nested(SourceSchema, required=True)
    updated_at = _optional(fields.String, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}"))
    verified_at = _optional(fields.String, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}"))
    status = fields.String(load_default="active", validate=validate.OneOf(vocab.STATUSES))
    also_from = fields.List(fields.Nested(SourceSchema), load_default=list, validate=validate.Length(max=20))

    @validates("timezone")
    def check_timezone(self, value, **kwargs):
        if value not in known_zones():
            raise ValidationError(f"Unknown IANA time zone {value[:60]!r}.")

    @validates_schema
    def check_consistency(self, data, **kwargs):
        formats = data.get("formats") or []
        if "in_person" in formats and data.get("location") is None:
            raise ValidationError("An in-person listing needs a location.", "location")
        remote = [f for f in formats if f in vocab.REMOTE_FORMATS]
        if remote and "in_person" not in formats and not data.get("service_area"):
            raise ValidationError(
                "An online or phone listing needs a service_area (e.g. ['AU']).",
                "service_area",
            )

    @post_load
    def make(self, data, **kwargs):
        for name in ("goals", "substances", "formats", "audiences", "languages",
                     "service_area", "accessibility"):
            # Keep the first of any duplicate and a stable order, so equal inputs dump equal.
            data[name] = tuple(dict.fromkeys(data[name]))
        data["sessions"] = tuple(data["sessions"])
        data["also_from"] = tuple(data["also_from"])
        if isinstance(data["contact"], dict):
            data["contact"] = make_contact(data["contact"])
        if isinstance(data["first_visit"], dict):
            data["first_visit"] = make_first_visit(data["first_visit"])
        return make_listing(data)


LISTING_SCHEMA = ListingSchema()


def load_listing(record: dict) -> Listing:
    """Validate one record; raises marshmallow.ValidationError naming the bad fields.

    Valid records take the fast path below (three times quicker, the same Listing); anything
    it is unsure of, every invalid record among them, goes through marshmallow itself, which
    also words the errors.
    """
    if _LOAD_PLAN is not None:
        try:
            return _fast_load(_LOAD_PLAN, record)
        except _Unsure:
            pass
    return LISTING_SCHEMA.load(record)


# --- the fast path -------------------------------------------------------------------------
# marshmallow's load spends most of its time in per-call machinery (error stores, getters,
# hook lookups, a full load per nested object), not in the checks. The plan below runs the
# very same checks, worked out once per schema: each field's own deserialize (type, cleaning
# and validators), nested schemas recursively, then the schema's @validates, @validates_schema
# and @post_load methods in marshmallow's order. It gives up (_Unsure) at the first doubt.


class _Unsure(Exception):
    """The fast path does not vouch for this record: let marshmallow decide."""


class _Unsupported(Exception):
    """A schema uses a feature the fast path does not reproduce: always use marshmallow."""


def _load_plan(schema: Schema) -> tuple:
    """(schema, field entries, accepted keys, @validates by field, @validates_schema, @post_load)."""
    hooks = schema._hooks  # marshmallow's own table of the decorated methods
    if set(hooks) - {"validates", "validates_schema", "post_load"}:
        raise _Unsupported(f"{type(schema).__name__} has {sorted(hooks)}")
    for tag in ("validates_schema", "post_load"):
        if any(options.get("pass_original") or many for _name, many, options in hooks.get(tag, [])):
            raise _Unsupported(f"{type(schema).__name__}.{tag} needs the original data")
    entries = []
    for name, field in schema.load_fields.items():
        nested = field.inner if isinstance(field, fields.List) else field
        if isinstance(nested, fields.Nested):
            if nested.many or nested.only is not None or nested.exclude:
                raise _Unsupported(f"{name}: Nested with many/only/exclude")
            kind = "list_nested" if nested is not field else "nested"
            entries.append((name, field.data_key or name, field, kind, _load_plan(nested.schema)))
        else:
            entries.append((name, field.data_key or name, field, "leaf", _leaf_converter(field)))
    by_field: dict[str, list] = {}
    for method, _many, options in hooks.get("validates", []):
        for field_name in options["field_names"]:
            by_field.setdefault(field_name, []).append(getattr(schema, method))
    schema_checks = [getattr(schema, method) for method, _many, _options in hooks.get("validates_schema", [])]
    makers = [getattr(schema, method) for method, _many, _options in hooks.get("post_load", [])]
    return schema, tuple(entries), frozenset(e[1] for e in entries), by_field, schema_checks, makers


# Field classes whose deserialisation the converters below reproduce exactly; any other
# class (a subclass included: Email, URL) runs through the field's own deserialize.
_FAST_FIELD_TYPES = (fields.String, CleanString, fields.Boolean, fields.Float, fields.List)


def _value_check(validator):
    """A validator as a predicate (True: the value passes); the common kinds are worked
    out once, anything else calls the validator itself."""
    if type(validator) is validate.OneOf and all(type(choice) is str for choice in validator.choices):
        choices = frozenset(validator.choices)  # for str values, `in` a set is `in` the list
        return choices.__contains__
    if type(validator) is validate.Regexp:
        match = validator.regex.match  # marshmallow matches at the start, as this does
        return lambda value: match(value) is not None
    if type(validator) is validate.Length and validator.equal is None:
        low = validator.min if validator.min is not None else 0
        high = validator.max if validator.max is not None else math.inf
        return lambda value: low <= len(value) <= high
    if (type(validator) is validate.Range and validator.min_inclusive and validator.max_inclusive
            and validator.min is not None and validator.max is not None):
        low, high = validator.min, validator.max
        return lambda value: low <= value <= high

    def called(value):
        try:
            return validator(value) is not False
        except ValidationError:
            return False
    return called


def _leaf_converter(field: fields.Field):
    """value -> what `field.deserialize` returns for it, or _Unsure for anything the
    converter is not certain of (wrong types above all: marshmallow words those errors).
    Called only for present, non-None values."""
    checks = tuple(_value_check(validator) for validator in field.validators)
    if (type(field) not in _FAST_FIELD_TYPES or field.pre_load or field.post_load
            or (type(field) is fields.Float and field.allow_nan is not False)):
        def generic(value):
            try:
                return field.deserialize(value)
            except ValidationError:
                raise _Unsure from None
        return generic

    def checked(value):
        for check in checks:
            if not check(value):
                raise _Unsure
        return value

    if type(field) is fields.String:
        def string(value):
            if type(value) is not str:
                raise _Unsure
            return checked(value)
        return string
    if type(field) is CleanString:
        def clean_string(value):
            if type(value) is not str or CONTROL_CHARACTERS.search(value):
                raise _Unsure
            return checked(value.strip())  # marshmallow validates the cleaned text
        return clean_string
    if type(field) is fields.Boolean:
        def boolean(value):
            if value is not True and value is not False:
                raise _Unsure  # "yes", 1, "on" ... are marshmallow's to judge
            return checked(value)
        return boolean
    if type(field) is fields.Float:
        def number(value):
            if type(value) is not float and type(value) is not int:
                raise _Unsure
            try:
                value = float(value)
            except OverflowError:
                raise _Unsure from None
            if not math.isfinite(value):
                raise _Unsure
            return checked(value)
        return number
    inner = _leaf_converter(field.inner)  # fields.List of leaves

    def items(value):
        if type(value) is not list:
            raise _Unsure
        return checked([inner(item) for item in value])
    return items


def _fast_load(plan: tuple, raw):
    """One object through a plan; raises _Unsure rather than ever differing from marshmallow."""
    return _loader(plan)(raw)


# id(plan) -> (plan, its compiled loader); the plan is kept so its id is never another's.
_COMPILED_LOADERS: dict[int, tuple] = {}
_ABSENT = object()  # a key the record does not have (None is a value a record can hold)


def _loader(plan: tuple):
    """The plan's compiled loader (`_compiled_loader`), made on first use."""
    known = _COMPILED_LOADERS.get(id(plan))
    if known is None:
        known = _COMPILED_LOADERS[id(plan)] = (plan, _compiled_loader(plan))
    return known[1]


def _compiled_loader(plan: tuple):
    """The plan as one Python function: the field loop unrolled, each field's type test and
    its common checks (choices, patterns, lengths, ranges) written out in place, nested
    schemas calling their own compiled functions. It makes the very decisions the plan
    names (the tests hold it to marshmallow's) without a call and a dispatch per field and
    per check, which were most of a validated import's time."""
    _schema, entries, keys, by_field, schema_checks, makers = plan
    env = {"_Unsure": _Unsure, "ValidationError": ValidationError, "_ABSENT": _ABSENT, "KEYS": keys,
           "isfinite": math.isfinite, "CONTROLS": CONTROL_CHARACTERS.search}

    def constant(value, stem: str) -> str:
        """A name for `value` in the function's globals."""
        name = f"{stem}{len(env)}"
        env[name] = value
        return name

    lines = ["def load(raw):",
             "    if type(raw) is not dict or not KEYS.issuperset(raw):",
             "        raise _Unsure",  # not an object, or unknown keys: marshmallow words that error
             "    data = {}",
             "    try:"]
    for name, key, field, kind, sub in entries:
        default = field.load_default
        if field.required:
            when_absent = "raise _Unsure"
        elif default is missing:
            when_absent = "pass"
        else:  # marshmallow neither checks nor cleans defaults
            made = constant(default, "DEFAULT")
            when_absent = f"data[{name!r}] = {made}()" if callable(default) else f"data[{name!r}] = {made}"
        if kind == "leaf":
            body = _leaf_lines(field, "value", constant) or [f"value = {constant(sub, 'CONVERT')}(value)"]
        elif kind == "nested":
            body = [f"value = {constant(_loader(sub), 'LOAD')}(value)"]
        else:
            body = ["if type(value) is not list:", "    raise _Unsure",
                    f"value = [{constant(_loader(sub), 'LOAD')}(item) for item in value]"]
        if kind != "leaf":
            body += _check_lines(field.validators, "value", constant)
        lines += [f"        value = raw.get({key!r}, _ABSENT)",
                  "        if value is _ABSENT:", f"            {when_absent}",
                  "        elif value is None:",
                  f"            data[{name!r}] = None" if field.allow_none else "            raise _Unsure",
                  "        else:", *[f"            {line}" for line in body],
                  f"            data[{name!r}] = value"]
    for name, checks in by_field.items():
        lines.append(f"        if {name!r} in data:")
        lines += [f"            {constant(check, 'VALIDATES')}(data[{name!r}], data_key={name!r})" for check in checks]
    lines += [f"        {constant(check, 'SCHEMA_CHECK')}(data, partial=None, many=False)" for check in schema_checks]
    lines += ["    except ValidationError:", "        raise _Unsure from None"]
    lines += [f"    data = {constant(make, 'MAKE')}(data, partial=None, many=False)" for make in makers]
    lines.append("    return data")
    namespace: dict = {}
    exec(compile("\n".join(lines), f"<compiled loader of {type(_schema).__name__}>", "exec"), env, namespace)
    return namespace["load"]


def _leaf_lines(field: fields.Field, var: str, constant) -> list[str] | None:
    """Lines that turn `var` into what `field.deserialize` returns for it, or raise _Unsure,
    for the kinds `_leaf_converter` works out; None for any other field (its converter is
    called instead)."""
    kind = type(field)
    if kind not in _FAST_FIELD_TYPES or field.pre_load or field.post_load or (
            kind is fields.Float and field.allow_nan is not False):
        return None
    checks = _check_lines(field.validators, var, constant)
    if kind is fields.String:
        return [f"if type({var}) is not str:", "    raise _Unsure", *checks]
    if kind is CleanString:
        return [f"if type({var}) is not str or CONTROLS({var}):", "    raise _Unsure",
                f"{var} = {var}.strip()", *checks]  # marshmallow validates the cleaned text
    if kind is fields.Boolean:  # "yes", 1, "on" ... are marshmallow's to judge
        return [f"if {var} is not True and {var} is not False:", "    raise _Unsure", *checks]
    if kind is fields.Float:
        return [f"if type({var}) is not float and type({var}) is not int:", "    raise _Unsure",
                "try:", f"    {var} = float({var})", "except OverflowError:", "    raise _Unsure from None",
                f"if not isfinite({var}):", "    raise _Unsure", *checks]
    # A list: each item as its own field would take it, then the list's own checks, on a new
    # list (the record's list is never handed on). Items that change (cleaned text) or that
    # nest further go through the list's converter.
    inner = _leaf_lines(field.inner, "item", constant)
    if inner is None or type(field.inner) not in (fields.String, fields.Boolean):
        return None
    return [f"if type({var}) is not list:", "    raise _Unsure", f"for item in {var}:",
            *[f"    {line}" for line in inner], f"{var} = [*{var}]", *checks]


def _check_lines(validators, var: str, constant) -> list[str]:
    """Lines that raise _Unsure unless `var` passes every validator (as `_value_check`)."""
    lines = []
    for validator in validators:
        kind = type(validator)
        if kind is validate.OneOf and all(type(choice) is str for choice in validator.choices):
            # Only ever reached by str values (their type is tested first): `in` a set is `in` the list.
            test = f"{var} not in {constant(frozenset(validator.choices), 'CHOICES')}"
        elif kind is validate.Regexp:
            test = f"{constant(validator.regex.match, 'MATCH')}({var}) is None"
        elif kind is validate.Length and validator.equal is None:
            low = validator.min if validator.min is not None else 0
            high = validator.max if validator.max is not None else math.inf
            test = f"not ({low!r} <= len({var}) <= {constant(high, 'HIGH')})"
        elif (kind is validate.Range and validator.min_inclusive and validator.max_inclusive
              and validator.min is not None and validator.max is not None):
            test = f"not ({constant(validator.min, 'LOW')} <= {var} <= {constant(validator.max, 'HIGH')})"
        else:
            test = f"not {constant(_value_check(validator), 'CHECK')}({var})"
        lines += [f"if {test}:", "    raise _Unsure"]
    return lines


try:
    _LOAD_PLAN: tuple | None = _load_plan(LISTING_SCHEMA)
except _Unsupported:  # a schema change the fast path does not cover: marshmallow only
    _LOAD_PLAN = None


def _dump_expression(schema: Schema, value: str, depth: int = 0) -> str:
    """A Python expression giving what marshmallow's dump gives for an object of `schema`
    held in the variable `value`: a dict display in the schema's field order, nested
    objects and lists of them written out in place (as marshmallow does for these field
    types: nested schemas and lists dumped, floats as float, text and booleans as they are).

    One expression, no call per field or nested object: a loop over the fields, then one
    compiled function per nested schema, each cost a good part of writing a listing."""
    items = []
    for name, field in schema.fields.items():
        read = (f"{value}.{name}" if name.isidentifier() and not keyword.iskeyword(name)
                else f"getattr({value}, {name!r})")
        items.append(f"{name!r}: {_value_expression(field, read, depth)}")
    return "{" + ", ".join(items) + "}"


def _value_expression(field: fields.Field, read: str, depth: int) -> str:
    """The dump of one field's value, read by the expression `read`."""
    if isinstance(field, (fields.String, fields.Boolean)):
        return read  # loaded values are already str and bool
    # `read` is evaluated twice (None test, then the value): attribute reads, no side effects.
    if isinstance(field, fields.Float):
        return f"(None if {read} is None else float({read}))"
    if isinstance(field, fields.Nested):
        inner = f"nested{depth}"
        return f"(None if ({inner} := {read}) is None else {_dump_expression(field.schema, inner, depth + 1)})"
    if isinstance(field, fields.List):
        item = f"item{depth}"
        inner = _value_expression(field.inner, item, depth + 1)
        if inner == item:
            return f"(None if {read} is None else list({read}))"
        return f"(None if {read} is None else [{inner} for {item} in {read}])"
    # A new kind of field must say how it dumps; failing here beats dumping it wrongly.
    raise TypeError(f"no fast dump for {type(field).__name__} field {field.name!r}")


def _compiled_dump(schema: Schema):
    """`_dump_expression` of the schema as a function of the object."""
    namespace: dict = {}
    source = f"def dump(value):\n    return {_dump_expression(schema, 'value')}"
    exec(compile(source, "<compiled dump>", "exec"), {}, namespace)
    return namespace["dump"]


_LISTING_DUMP = _compiled_dump(LISTING_SCHEMA)


def dump_listing(listing: Listing) -> dict:
    """The listing as plain JSON-ready data, in schema field order.

    The same result as `ListingSchema().dump(listing)` (a test holds them equal), about ten
    times faster: imports dump every listing twice, and marshmallow's dump was a third of it.
    """
    return _LISTING_DUMP(listing)


# The attribute holding a listing's JSON text: not a dataclass field, so equality, repr,
# asdict and `replace` (which makes a new listing, written afresh) never see it.
_DOCUMENT = "_document"
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Types orjson writes but the stdlib refuses: handed back to the stdlib, which raises as before.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _float_fields(schema: Schema) -> tuple:
    """(field name, kind, inner) for every field of the schema that holds floats, however
    deep: kind "float" (inner None), "nested" or "list" (inner: the same for what is inside)."""
    found = []
    for name, field in schema.fields.items():
        inner_field = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner_field, fields.Float):
            inner = None
        elif isinstance(inner_field, fields.Nested):
            inner = _float_fields(inner_field.schema)
            if not inner:
                continue
        else:
            continue
        kind = "list" if isinstance(field, fields.List) else ("float" if inner is None else "nested")
        found.append((name, kind, inner))
    return tuple(found)


def _floats_print_alike(float_fields: tuple, data: dict) -> bool:
    """Whether orjson prints every float in the dumped data as the stdlib does. They differ
    for 0 < |x| < 1e-4 (stdlib "1e-05", orjson "0.00001") and for NaN and infinities
    (stdlib "NaN", orjson "null"); elsewhere both print the shortest round-trip text."""
    for name, kind, inner in float_fields:
        value = data.get(name)
        if value is None:
            continue
        items = value if kind == "list" else (value,)
        for item in items:
            if item is None:
                continue
            if inner is None:
                if not (math.isfinite(item) and (item == 0 or abs(item) >= 1e-4)):
                    return False
            elif not _floats_print_alike(inner, item):
                return False
    return True


_LISTING_FLOATS = _float_fields(LISTING_SCHEMA)


def listing_document(listing: Listing) -> str:
    """The listing's dump as compact JSON text (how the index and the source cache store
    it), made once per listing: a listing is frozen, so its text never changes, and an
    import writes each listing twice (index, source cache).

    The text is the stdlib's (`json` with ensure_ascii off, compact separators), written by
    orjson in a fraction of the time; where the two would differ (the floats
    `_floats_print_alike` names, lone surrogates and integers beyond 64 bits, which orjson
    refuses) the stdlib writes it."""
    text = listing.__dict__.get(_DOCUMENT)
    if text is None:
        text = _document_text(dump_listing(listing))
        object.__setattr__(listing, _DOCUMENT, text)
    return text


def _document_text(data: dict) -> str:
    """Dumped listing data as the stdlib's compact JSON text (see `listing_document`)."""
    if _floats_print_alike(_LISTING_FLOATS, data):
        try:
            return orjson.dumps(data, option=_ORJSON_OPTIONS).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return _COMPACT.encode(data)


def listing_from_document(text: str) -> Listing:
    """The listing whose `listing_document` is `text`, written by this same code (in another
    process of one import): rebuilt without validating, and keeping `text` as its document,
    so it is not written again."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses, the stdlib wrote (see listing_document)
        data = json.loads(text)
    listing = listing_from_trusted(data)
    object.__setattr__(listing, _DOCUMENT, text)
    return listing


def listing_from_trusted(data: dict) -> Listing:
    """Rebuild a listing stored by this service (already validated) without re-validating."""
    location = data.get("location")
    return make_listing(
        {
            **data,
            "goals": tuple(data["goals"]),
            "substances": tuple(data["substances"]),
            "formats": tuple(data["formats"]),
            "audiences": tuple(data["audiences"]),
            "languages": tuple(data["languages"]),
            "service_area": tuple(data["service_area"]),
            "accessibility": tuple(data["accessibility"]),
            "location": make_location(location) if location else None,
            "sessions": tuple(map(make_session, data["sessions"])),
            "contact": make_contact(data["contact"]),
            "first_visit": make_first_visit(data["first_visit"]),
            "source": make_source(data["source"]),
            "also_from": tuple(map(make_source, data.get("also_from", ()))),
        }
    )


def flatten_errors(messages, prefix: str = "") -> list[tuple[str, str]]:
    """Turn marshmallow's nested error dict into (dotted.field, message) pairs."""
    pairs: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            pairs.extend(flatten_errors(value, path))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, (dict, list)):
                pairs.extend(flatten_errors(item, prefix))
            else:
                pairs.append((prefix or "_schema", str(item)))
    else:
        pairs.append((prefix or "_schema", str(messages)))
    return pairs


__all__ = ["ListingSchema", "load_listing", "dump_listing", "listing_document", "listing_from_trusted", "flatten_errors"]
