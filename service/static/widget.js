/* <linkage-search>: Linkage's embeddable finder for addiction support groups and services.

   One file, no build step, no dependencies (ES2020). Embed with
     <script src="https://LINKAGE-HOST/widget.js" defer></script>
     <linkage-search api="https://LINKAGE-HOST" near="2000" mode="full"></linkage-search>
   Attributes: api (base URL; default this page's origin), key (sent as X-Linkage-Key),
   near, radius (km), formats, goals, languages (comma lists; languages filters services that speak
   one, e.g. "vi"), lang (the interface language, e.g. "vi", "zh-Hant",
   "ar"; by default the host page's <html lang>, else English: its catalogue comes from
   /i18n/widget/<code>.json, and "why it fits" from the API in the same language), tz (IANA zone to
   show times in; by default the searched place's, with a switch to this device's),
   mode (compact | full), demo-notice ("page" when the page around it already says the data
   is fictional, so the widget does not repeat it). Theme: --linkage-accent, --linkage-font, --linkage-radius,
   --linkage-bg, --linkage-ink (and --linkage-focus, --linkage-muted, --linkage-line).
   Events (bubbling, composed; detail.element is the widget): linkage:search {query},
   linkage:results {total, items, page, query}, linkage:select {listing, selected, selection}; the
   items and listings carry the fields the result cards show (CARD_FIELDS below), and
   GET /v1/listings/{id} gives a whole listing.
   Children of the element are its no-JavaScript fallback: the shadow root has no slot, so
   they stop showing once the widget runs.
   Listing text only ever reaches the page through textContent and attributes, never as HTML. */
(() => {
  "use strict";
  const TAG = "linkage-search";
  if (!window.customElements || customElements.get(TAG)) return;

  const MAX_CHOICES = 12; // the referral API's limit
  const PER_PAGE = 10;
  // The item fields a result card reads (search asks for these alone, `fields=`): a search answers in
  // a third fewer bytes. Handouts are made from the ids, on the server. A directory without `fields`
  // sends whole items, which show the same.
  const CARD_FIELDS = ["id", "kind", "name", "program", "approach", "goals", "formats", "languages", "audiences",
    "for_everyone", "distance_km", "next_sessions", "open_24_7", "timezone", "why", "referral", "cost", "accessibility",
    "first_visit", "location", "contact", "dead_links", "source", "stale", "verified_at"];
  const SOON_MINUTES = 120;
  const DEBOUNCE_MS = 150;

  // Marks a message for extraction (`pybabel extract`, babel-widget.cfg) where it is written; it is
  // translated where it is shown, with the widget's own catalogue (`this.t`).
  const N_ = (text) => text;

  // Plain words for vocabulary values (the same as service/domain/vocab.py LABELS).
  const LABELS = {
    in_person: N_("In person"), online: N_("Online"), phone: N_("By phone"),
    abstinence: N_("Stopping completely"), moderation: N_("Cutting down"), harm_reduction: N_("Using more safely"),
    undecided: N_("Not sure yet"), group: N_("Support group"), service: N_("Treatment service"), helpline: N_("Helpline"),
    self_management: N_("Self-management (CBT-based tools)"), twelve_step: N_("12-step fellowship"),
    secular_peer: N_("Secular peer support"), buddhist: N_("Buddhist-inspired recovery"), clinical: N_("Clinical treatment"),
    free: N_("Free"), low_cost: N_("Low cost"), fee: N_("Fees apply"),
    alcohol: N_("Alcohol"), methamphetamine: N_("Methamphetamine / ice"), cannabis: N_("Cannabis"), opioids: N_("Opioids"),
    any: N_("Other drugs"),
    women: N_("Women"), young_people: N_("Young people"), lgbtiq: N_("LGBTIQ+ people"),
    aboriginal_torres_strait_islander: N_("Aboriginal and Torres Strait Islander people"),
    family_friends: N_("Family and friends"), men: N_("Men"), veterans: N_("Veterans"),
    cald: N_("Culturally and linguistically diverse communities"),
    morning: N_("Morning (5 am to noon)"), afternoon: N_("Afternoon (noon to 5 pm)"), evening: N_("Evening (5 pm to midnight)"),
    wheelchair_access: N_("wheelchair access"), accessible_toilet: N_("accessible toilet"), hearing_loop: N_("hearing loop"),
    auslan_interpreter: N_("Auslan interpreter"), parking: N_("parking"), public_transport: N_("near public transport"),
  };
  const GOALS = ["abstinence", "moderation", "harm_reduction", "undecided"];
  const FORMATS = ["in_person", "online", "phone"];
  const KINDS = ["group", "service", "helpline"];
  // "Other drugs" asks for options open to any substance (the API's `any`).
  const SUBSTANCES = ["alcohol", "methamphetamine", "cannabis", "opioids", "any"];
  const AUDIENCES = ["women", "young_people", "lgbtiq", "aboriginal_torres_strait_islander"];
  const TIMES = ["morning", "afternoon", "evening"];
  // The language filter (services that speak it), apart from the interface language: listings' codes
  // (ISO 639, so one "zh" for both written Chinese catalogues).
  const SPOKEN = ["ar", "zh", "vi", "pa", "el", "it", "fil", "hi", "es"];
  // The referral API's SEVEN_DAY_GOALS (service/referrals/model.py), in the same words.
  const SEVEN_DAY_GOALS = {
    go_to_one_meeting: N_("Go to one meeting or group"),
    call_one_service: N_("Call one service"),
    try_online_or_phone: N_("Try one online or phone session"),
    see_gp_again: N_("Book a follow-up with my GP or clinician"),
    count_days: N_("Keep count of using or drinking days"),
    tell_someone: N_("Tell one person I trust about my plan"),
  };
  // What a handout keeps, word for word as the search page and the embed guide say it.
  const KEPT = N_("The handout link keeps only the options you chose, the goal, the 7-day goal, the language and the client's time zone. Your note is sent only to print this one copy or make its PDF; Linkage does not store or log it.");
  const KEY_ERRORS = ["bad_key", "origin_not_allowed", "key_required", "origin_required"];
  // Why a key was refused, in the widget's own words: the server's text may name other sites.
  const KEY_REASONS = { bad_key: N_("unknown embed key"), key_required: N_("no embed key given"), missing: N_("no embed key given") };
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const DAYS = { mon: N_("Monday"), tue: N_("Tuesday"), wed: N_("Wednesday"), thu: N_("Thursday"), fri: N_("Friday"), sat: N_("Saturday"), sun: N_("Sunday") };
  const SORTS = { best: N_("Best match"), distance: N_("Nearest"), soonest: N_("Soonest") };
  const ZONES = ["Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Adelaide",
    "Australia/Darwin", "Australia/Perth", "Australia/Hobart", "Australia/Lord_Howe"];
  // Which control shows an API error that names a parameter.
  const CONTROL_FOR = { near: "near", lat: "near", lon: "near", radius_km: "radius", goal: "goal", format: "format",
    kind: "kind", day: "day", starts_within: "soon", q: "words", tz: "tz", sort: "sort", note: "note",
    substance: "substance", audience: "audience", time: "time", language: "speaks", tonight: "time", listing_ids: "handout",
    seven_day_goal: "seven", timezone: "handout" };

  const label = (value) => LABELS[value] || String(value || "").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const list = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
  const zoneCity = (zone) => String(zone || "").split("/").pop().replace(/_/g, " ");
  const isTouch = () => { try { return matchMedia("(hover: none) and (pointer: coarse)").matches; } catch (e) { return false; } };
  const languageName = (code, locale) => {
    try { return new Intl.DisplayNames([locale || "en"], { type: "language" }).of(code) || code; } catch (e) { return String(code); }
  };
  /** `2026-01-13` -> `13 Jan 2026` (the text itself when it is not such a date). */
  const dayText = (iso) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
    return m && MONTHS[Number(m[2]) - 1] ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(iso || "");
  };
  /** A distance as the API's reasons write it (Python's `{:.1f}` of the rounded number) under 10 km,
      whole km beyond. toFixed rounds the exact binary value as Python does, except at exact halves
      (1.25, 0.75), where Python keeps the even digit and toFixed goes up. */
  const kmText = (km) => {
    if (km >= 10) return String(Math.round(km));
    const tenths = km * 10;
    if (Number.isInteger(km * 4) && !Number.isInteger(km * 2)) {
      const low = Math.floor(tenths);
      return ((low % 2 === 0 ? low : low + 1) / 10).toFixed(1);
    }
    return km.toFixed(1);
  };
  // The interface languages: English (the source) and the ten of service/i18n.py CLIENT_LANGUAGES.
  const LANGUAGES = ["en", "zh_Hans", "ar", "vi", "zh_Hant", "pa", "el", "it", "fil", "hi", "es"];
  const RIGHT_TO_LEFT = ["ar"];
  /** A language tag ("vi", "zh-TW", "tl", "ar-EG") -> one of LANGUAGES, as service.i18n.negotiate maps it:
      the exact code, Chinese by script (or region), Tagalog as Filipino, else the base language, else English. */
  const negotiate = (tag) => {
    const wanted = String(tag || "").trim().replace(/-/g, "_");
    if (!wanted) return "en";
    const exact = LANGUAGES.find((code) => code.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const parts = wanted.split("_");
    const base = parts[0].toLowerCase();
    if (base === "zh") return parts.slice(1).some((p) => ["hant", "tw", "hk", "mo"].includes(p.toLowerCase())) ? "zh_Hant" : "zh_Hans";
    const alias = base === "tl" ? "fil" : base;
    return LANGUAGES.includes(alias) ? alias : "en";
  };
  /** A catalogue code as a BCP 47 tag for `lang` attributes and Intl ("zh_Hans" -> "zh-Hans"). */
  const bcp47 = (code) => String(code).replace(/_/g, "-");
  /** `{name}` placeholders filled from `values` (text as it is when a value is missing). */
  const fill = (text, values) => (values ? String(text).replace(/\{(\w+)\}/g, (whole, name) =>
    (Object.prototype.hasOwnProperty.call(values, name) && values[name] != null ? String(values[name]) : whole)) : String(text));
  // Widget catalogues by address, fetched once per page and shared by every widget that speaks the language.
  const catalogues = new Map(); // url -> Promise<catalogue or null>
  const loadedCatalogues = new Map(); // url -> catalogue or null, once the fetch has settled
  function fetchCatalogue(url) {
    if (!catalogues.has(url)) {
      // No custom headers (no key): a simple request, so no preflight, and the answer is cached for long.
      catalogues.set(url, fetch(url, { credentials: "omit" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => (data && data.messages && typeof data.messages === "object" ? data : null))
        .catch(() => null)
        .then((data) => { loadedCatalogues.set(url, data); return data; }));
    }
    return catalogues.get(url);
  }
  const deviceZone = () => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; } };

  /** Build an element: attributes from `props` (on* become listeners), children as nodes or text. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child != null && child !== false) el.append(child); // strings become text nodes
    }
    return el;
  }

  /** Only http(s) links from listing data (never javascript: or data:). */
  function safeUrl(text) {
    try {
      const url = new URL(text);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  const isTyping = (el) => !!el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
    (el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|range|color|file)$/i.test(el.type)));

  const CSS = `
:host { display: block; container-type: inline-size; color: var(--linkage-ink, #1b1b1b);
  background: var(--linkage-bg, #fff); font-family: var(--linkage-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 1rem; line-height: 1.5; text-align: start; }
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
.lk { --accent: var(--linkage-accent, #0b5cad); --radius: var(--linkage-radius, 6px);
  --muted: var(--linkage-muted, #4a4a4a); --line: var(--linkage-line, #767676); --focus: var(--linkage-focus, #b34700);
  padding: .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: .25rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; }
p { margin: .25rem 0; }
a { color: var(--accent); }
button, input, select, textarea { font: inherit; color: inherit; }
input, select, textarea { background: var(--linkage-bg, #fff); border: 1px solid var(--line); border-radius: var(--radius);
  padding: .4rem .5rem; min-height: 2.5rem; max-width: 100%; }
textarea { width: 100%; min-height: 4.5rem; }
input[type=checkbox] { min-height: 0; width: 1.15rem; height: 1.15rem; margin: 0; margin-inline-end: .35rem; accent-color: var(--accent); }
button { cursor: pointer; border: 2px solid var(--accent); background: var(--accent); color: #fff;
  border-radius: var(--radius); padding: .4rem 1rem; min-height: 2.5rem; }
button.quiet { background: transparent; color: var(--accent); }
button.small { min-height: 2rem; padding: .1rem .6rem; }
button[disabled] { opacity: .6; cursor: default; }
:focus-visible, .result:focus { outline: 3px solid var(--focus); outline-offset: 2px; }
[hidden] { display: none !important; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.place { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
.place > label { flex: 1 0 100%; font-weight: 600; }
.combo { position: relative; flex: 1 1 12rem; min-width: 0; }
.combo input { width: 100%; }
[role=listbox] { position: absolute; z-index: 10; inset-inline: 0; margin: 2px 0 0; padding: .25rem 0; list-style: none;
  background: var(--linkage-bg, #fff); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: 0 4px 12px rgba(0,0,0,.2); }
[role=option] { padding: .4rem .75rem; cursor: pointer; }
[role=option][aria-selected=true], [role=option]:hover { background: var(--accent); color: #fff; }
.filters-box { margin: .5rem 0 0; }
.filters-box > summary { font-weight: 600; padding: .25rem 0; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: .75rem 0 0; align-items: flex-start; }
fieldset { border: 1px solid var(--line); border-radius: var(--radius); margin: 0; padding: .25rem .75rem .5rem; min-width: 0; }
legend { font-weight: 600; padding: 0 .25rem; }
fieldset label { display: flex; align-items: center; margin: .2rem 0; }
.field { display: flex; flex-direction: column; gap: .15rem; }
.field > label { font-weight: 600; }
.field input[type=number] { width: 6rem; }
.check { display: flex; align-items: center; align-self: center; }
.keys { color: var(--muted); font-size: .9rem; margin: .5rem 0; }
kbd { font: inherit; font-family: ui-monospace, monospace; border: 1px solid var(--line); border-radius: 3px; padding: 0 .3rem; }
.error { color: #a40000; font-weight: 600; }
.warnings { background: #fff4ce; color: #4d3c00; border-inline-start: 4px solid #8a6d00; padding-block: .25rem;
  padding-inline: 1.75rem .75rem; }
.status { font-weight: 600; margin: .75rem 0 .25rem; }
.cols { display: grid; gap: 1rem; grid-template-columns: minmax(0, 1fr); }
@container (min-width: 701px) {
  .full .cols { grid-template-columns: minmax(0, 2fr) minmax(15rem, 1fr); }
  /* The panel comes first in the page (reachable at once on a phone) but sits at the line's end here
     (the right, or the left in Arabic: grid columns follow the direction). */
  .full .cols > .found { grid-column: 1; grid-row: 1; }
  .full .cols > .panel { grid-column: 2; grid-row: 1; }
  .panel { position: sticky; top: .5rem; align-self: start; max-height: calc(100vh - 1rem); overflow: auto; }
}
.demo { background: #fff4ce; color: #1b1b1b; border: 2px solid #8a6d00; padding: .5rem 1rem; margin: 0 0 .75rem; }
.jump { align-self: center; font-weight: 600; padding: .4rem .25rem; }
.zone { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: center; margin: .25rem 0; }
.group { font-size: 1.1rem; margin: 1.25rem 0 .5rem; padding-top: .5rem; border-top: 3px solid var(--line); }
.checks { margin: .25rem 0; }
.checks .gp { font-weight: 700; }
.kept { border-inline-start: 4px solid var(--accent); padding-inline-start: .5rem; }
.files { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .5rem 0; padding: 0; list-style: none; }
ol.results { list-style: none; padding: 0; margin: 0; }
.result { border: 1px solid var(--line); border-radius: var(--radius); padding: .75rem; margin: 0 0 .75rem; }
.meta, .source, .hint { color: var(--muted); font-size: .9rem; }
.distance { font-weight: 600; }
.sessions ul, .chosen { margin: .1rem 0; padding-inline-start: 1.25rem; }
.label { font-weight: 600; }
details { margin: .25rem 0; }
summary { cursor: pointer; color: var(--accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .5rem; }
button[aria-pressed=true] { background: #1e6b2f; border-color: #1e6b2f; color: #fff; }
button[aria-pressed=true]::before { content: "\\2713  " / ""; }
.panel { border: 2px solid var(--accent); border-radius: var(--radius); padding: .75rem; }
.chosen li { margin: .2rem 0; }
.made { margin-top: .75rem; border-top: 1px solid var(--line); padding-top: .5rem; }
.made a.url { word-break: break-all; }
.sms-count { margin: .25rem 0; }
bdi { unicode-bidi: isolate; }
.more { margin: .5rem 0; }
.found > h2 { margin-top: .75rem; }
`;

  let sheet = null;
  function styleFor(root) {
    // A constructed stylesheet works under a strict CSP (style-src 'self'); <style> is the fallback.
    if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
      return null;
    }
    return h("style", {}, CSS);
  }

  // Program explainers, fetched once per API base and shared by every widget on the page.
  const programsByBase = new Map();

  class LinkageSearch extends HTMLElement {
    static get observedAttributes() {
      return ["api", "key", "near", "radius", "formats", "goals", "languages", "lang", "tz", "mode", "demo-notice"];
    }

    constructor() {
      super();
      this._shadow = this.attachShadow({ mode: "open" });
      this._style = styleFor(this._shadow);
      this._els = {};
      this._selection = new Map(); // id -> listing (or {id, name} for a suggestion)
      this._items = [];
      this._places = [];
      this._active = -1;
      this._page = 1;
      this._total = 0;
      this._uid = 0;
      this._current = -1;
      this._searched = false;
      this._onDocumentKey = this._onDocumentKey.bind(this);
    }

    get mode() { return this.getAttribute("mode") === "full" ? "full" : "compact"; }

    /** The listing ids chosen for the handout. */
    get selection() { return Array.from(this._selection.keys()); }

    connectedCallback() {
      document.addEventListener("keydown", this._onDocumentKey);
      if (this._built) return;
      this._withCatalogue(() => {
        if (this._built || !this.isConnected) return;
        this._build();
        this._checkKey();
        if (this._els.place.value.trim() && !this._searched) this.search();
      });
    }

    disconnectedCallback() {
      document.removeEventListener("keydown", this._onDocumentKey);
      if (this._searchAbort) this._searchAbort.abort();
      if (this._suggestAbort) this._suggestAbort.abort();
    }

    attributeChangedCallback(name, old, value) {
      if (!this._built || old === value || this._rebuildQueued) return;
      // Coalesce several attribute changes made together into one rebuild and search.
      this._rebuildQueued = true;
      queueMicrotask(() => {
        this._rebuildQueued = false;
        // A new `lang` may need its catalogue first; the others rebuild at once.
        this._withCatalogue(() => {
          this._build();
          this._checkKey();
          if (this._els.place.value.trim()) this.search();
        });
      });
    }

    _base() { return (this.getAttribute("api") || "").replace(/\/+$/, ""); }

    /** The interface language asked for: the element's `lang`, else the host page's, else English. */
    _wantedLanguage() {
      return negotiate(this.getAttribute("lang") || document.documentElement.lang || "en");
    }

    /** The language the widget speaks: the one asked for when its catalogue loaded, else English. */
    get language() { return (this._catalogue && this._catalogue.language) || "en"; }

    _catalogueUrl(code) { return `${this._base()}/i18n/widget/${encodeURIComponent(code)}.json`; }

    /** Load the catalogue of the language asked for (none for English), then call `then`: at once
        when it is already here, else when it arrives (English when it cannot be had). */
    _withCatalogue(then) {
      const code = this._wantedLanguage();
      if (code === "en") { this._catalogue = null; then(); return; }
      const url = this._catalogueUrl(code);
      if (loadedCatalogues.has(url)) { this._catalogue = loadedCatalogues.get(url); then(); return; }
      const asked = (this._asked = url);
      fetchCatalogue(url).then((catalogue) => {
        if (this._asked !== asked) return; // another language was asked for meanwhile
        this._catalogue = catalogue;
        then();
      });
    }

    /** A message in the widget's language, `{name}` placeholders filled from `values`. */
    t(message, values) {
      const found = this._catalogue && this._catalogue.messages[message];
      return fill(typeof found === "string" && found ? found : message, values);
    }

    /** A message that depends on a count `n` (`{n}` is filled too), by the catalogue's plural rule. */
    tn(singular, pluralText, n, values) {
      const all = Object.assign({ n }, values || {});
      const catalogue = this._catalogue;
      const forms = catalogue && catalogue.messages[singular];
      if (Array.isArray(forms) && Array.isArray(catalogue.plural)) {
        // The rule as a table for 0..199 (gettext rules look at n, n % 10 and n % 100 only).
        const whole = Math.abs(Math.trunc(Number(n) || 0));
        const index = catalogue.plural[whole < 200 ? whole : 100 + (whole % 100)];
        if (typeof forms[index] === "string" && forms[index]) return fill(forms[index], all);
      }
      return fill(Number(n) === 1 ? singular : pluralText, all);
    }

    /** A vocabulary value in plain words, translated. */
    _label(value) { return this.t(label(value)); }

    /** The locale for dates and times: the interface language's (an English page's own English, else
        Australian English: day before month). */
    _locale() {
      if (this.language !== "en") return bcp47(this.language);
      let lang = this.getAttribute("lang") || document.documentElement.lang || "en-AU";
      if (!/^en(-|$)/i.test(lang) || /^en$/i.test(lang)) lang = "en-AU";
      try { return Intl.DateTimeFormat.supportedLocalesOf(lang).length ? lang : "en-AU"; } catch (e) { return "en-AU"; }
    }

    /** `2026-01-13` -> `13 Jan 2026` in English, the locale's medium date otherwise (other text as it is). */
    _dayText(iso) {
      if (this.language === "en") return dayText(iso);
      const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
      if (!m) return String(iso || "");
      try {
        return new Intl.DateTimeFormat(this._locale(), { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
          .format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))));
      } catch (e) {
        return dayText(iso);
      }
    }

    /** The zone times are shown in: the one chosen, else the searched place's, else the listing's own. */
    _displayZone(item) {
      return this._tzChoice || this._placeZone || (item && item.timezone) || deviceZone();
    }

    async _request(path, { params, method = "GET", body, signal, text = false } = {}) {
      let url = /^https?:/.test(path) ? path : this._base() + path;
      if (params) url += "?" + new URLSearchParams(params);
      const headers = { Accept: text ? "text/plain" : "application/json" };
      const key = this.getAttribute("key");
      if (key) headers["X-Linkage-Key"] = key;
      if (body) headers["Content-Type"] = "application/json";
      const response = await fetch(url, { method, headers, signal, credentials: "omit",
        body: body ? JSON.stringify(body) : undefined });
      const raw = await response.text().catch(() => "");
      let data = raw;
      if (!text || !response.ok) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
      if (!response.ok) {
        const problem = (data && data.error) || {};
        const error = new Error(problem.message || this.t("The directory answered {status}; please try again.", { status: response.status }));
        error.parameter = problem.parameter;
        error.code = problem.code;
        error.status = response.status;
        throw error;
      }
      return data;
    }

    /** The program explainers (a Map by lower-cased name), and the error when the request failed. */
    _fetchPrograms() {
      // Per base and key: the same request is the load-time check of the key.
      const lang = this.language === "en" ? "" : this.language;
      const id = `${this._base()}\n${this.getAttribute("key") || ""}\n${lang}`;
      if (!programsByBase.has(id)) {
        // The explainers in the widget's language (program names stay as the programs write them).
        programsByBase.set(id, this._request("/v1/programs", lang ? { params: { lang } } : {}).then((data) => {
          const found = new Map();
          for (const p of (data && data.items) || []) if (p && p.name && p.explainer) found.set(String(p.name).toLowerCase(), p);
          return { found, error: null };
        }).catch((error) => ({ found: new Map(), error })));
      }
      return programsByBase.get(id);
    }

    _loadPrograms() {
      // No explainers when the endpoint is missing or fails; the results still show.
      return this._fetchPrograms().then((answer) => answer.found);
    }

    /** Say at once, before any search, when the directory refuses this site's key (or wants one). */
    async _checkKey() {
      const els = this._els;
      const { error } = await this._fetchPrograms();
      if (!error || this._els !== els) return;
      if (KEY_ERRORS.includes(error.code)) this._showKeyError(error.code);
      else if (error.name === "TypeError" && this._crossOrigin() && !this.getAttribute("key")) this._showKeyError("missing");
    }

    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail: Object.assign({ element: this }, detail) }));
    }

    _id(prefix) { this._uid += 1; return `${prefix}-${this._uid}`; }

    // ---------------------------------------------------------------- building the UI

    _build() {
      const full = this.mode === "full";
      const E = (this._els = {});
      this._built = true;
      const attrNear = this.getAttribute("near") || "";
      // Times show in the searched place's zone unless the site or the person picks another.
      this._tzChoice = this.getAttribute("tz") || "";

      E.place = h("input", { id: "place", type: "text", role: "combobox", "aria-autocomplete": "list",
        "aria-expanded": "false", "aria-controls": "place-list", "aria-describedby": "place-error",
        autocomplete: "off", autocapitalize: "off", spellcheck: "false", enterkeyhint: "search", value: attrNear,
        oninput: () => this._onPlaceInput(), onkeydown: (e) => this._onPlaceKey(e), onblur: () => this._closeList() });
      E.list = h("ul", { id: "place-list", role: "listbox", "aria-label": this.t("Suggested places"), hidden: true });
      E.locate = navigator.geolocation && window.isSecureContext
        ? h("button", { type: "button", class: "quiet", onclick: () => this._locate() }, this.t("Use my location")) : null;
      // A skip link to the handout panel, a Tab or two from the place box.
      E.jump = full ? h("a", { href: "#handout-heading", class: "jump", onclick: (e) => { e.preventDefault(); this._goToPanel(); } },
        this.t("Handout ({n})", { n: 0 })) : null;
      E.errors = { near: h("p", { id: "place-error", class: "error", hidden: true }) };
      // A refused embed key, right under the place box where the site's web team looks first.
      E.keyError = h("p", { class: "error key-error", role: "alert", hidden: true });

      const form = h("form", { role: "search", "aria-label": this.t("Find support"), novalidate: true,
        onsubmit: (e) => { e.preventDefault(); this.search(); } },
      h("div", { class: "place" },
        h("label", { for: "place" }, this.t("Postcode, suburb or address")),
        h("div", { class: "combo" }, E.place, E.list),
        h("button", { type: "submit" }, this.t("Search")),
        E.jump,
        E.locate),
      E.errors.near,
      E.keyError,
      full ? this._buildFilters() : null);

      E.demo = h("p", { class: "demo", role: "note", hidden: true }, h("strong", {}, this.t("Demo data — fictional.")),
        " ", this.t("These listings are invented for trying Linkage out. Do not refer anyone to them."));
      E.status = h("p", { class: "status", role: "status", "aria-live": "polite", "aria-atomic": "true" });
      E.error = h("p", { class: "error", role: "alert", hidden: true });
      E.warnings = h("ul", { class: "warnings", hidden: true });
      E.zoneNote = h("span", { class: "zone-note" });
      E.zoneSwitch = h("button", { type: "button", class: "quiet small", onclick: () => this._switchZone() });
      E.zone = h("p", { class: "zone", hidden: true }, E.zoneNote, E.zoneSwitch);
      E.results = h("ol", { class: "results", "aria-labelledby": "results-heading" });
      // Options only for particular groups, apart, under their own heading (searches with no audience).
      E.groupHeading = h("h3", { class: "group", id: "group-heading" }, this.t("For particular groups (check the person is one of them)"));
      E.groupResults = h("ol", { class: "results", "aria-labelledby": "group-heading" });
      E.group = h("div", { class: "particular", hidden: true }, E.groupHeading, E.groupResults);
      E.more = h("button", { type: "button", class: "quiet more", hidden: true, onclick: () => this.search(this._page + 1) });
      E.resultsHeading = h("h2", { id: "results-heading", tabindex: "-1" }, this.t("Options"));
      E.hint = h("p", { class: "hint" }, this.t("Type a postcode, suburb or address to see groups and services near it, online and by phone."));
      const results = h("section", { class: "found", "aria-labelledby": "results-heading" },
        E.resultsHeading, E.hint, E.status, E.error, E.warnings, E.zone, E.results, E.group, E.more);

      // The interface language on the root: `lang` for screen readers and fonts, `dir` so Arabic mirrors.
      const wrap = h("div", { class: `lk ${this.mode}`, lang: bcp47(this.language),
        dir: RIGHT_TO_LEFT.includes(this.language) ? "rtl" : "ltr" },
        E.demo,
        form,
        full ? this._buildKeysHelp() : null,
        h("div", { class: "cols" }, full ? this._buildPanel() : null, results));
      this._shadow.replaceChildren(...[this._style, wrap].filter(Boolean));
      this._renderResults();
    }

    _buildFilters() {
      const E = this._els;
      const goals = list(this.getAttribute("goals"));
      const formats = list(this.getAttribute("formats"));
      const checks = (name, legend, values, chosen, extra) => {
        E.errors[name] = h("p", { class: "error", id: `${name}-error`, hidden: true });
        E[name] = h("fieldset", { "aria-describedby": `${name}-error` }, h("legend", {}, legend),
          values.map((v) => h("label", {}, h("input", { type: "checkbox", name, value: v, checked: chosen.includes(v),
            onchange: () => this._refilter() }), typeof v === "string" && DAYS[v] ? this.t(DAYS[v]) : this._label(v))),
          extra || null,
          E.errors[name]);
        return E[name];
      };
      const field = (name, text, control) => {
        E.errors[name] = h("p", { class: "error", id: `${name}-error`, hidden: true });
        control.setAttribute("id", name);
        control.setAttribute("aria-describedby", `${name}-error`);
        E[name] = control;
        return h("div", { class: "field" }, h("label", { for: name }, text), control, E.errors[name]);
      };
      const zone = this._tzChoice;
      const device = deviceZone();
      const zones = Array.from(new Set([device, ...(zone ? [zone] : []), ...ZONES]));
      // Who the options are for: the person themselves unless the caller is family or a friend.
      E.forWhom = h("fieldset", { class: "for-whom" }, h("legend", {}, this.t("Who is it for?")),
        [["me", this.t("For me (the person who uses)")], ["family_friends", this.t("For a family member or friend")]].map(([value, text]) =>
          h("label", {}, h("input", { type: "radio", name: "for-whom", value, checked: value === "me",
            onchange: () => this._refilter() }), text)));
      E.errors.soon = h("p", { class: "error", id: "soon-error", hidden: true });
      E.soon = h("input", { type: "checkbox", id: "soon", "aria-describedby": "soon-error", onchange: () => this._refilter() });
      E.tonight = h("input", { type: "checkbox", id: "tonight", onchange: () => this._refilter() });
      // Open on wide screens; on a phone the results matter more than the form.
      E.filters = h("details", { class: "filters-box", open: this.getBoundingClientRect().width > 700 },
        h("summary", {}, this.t("Filters")));
      E.filters.append(h("div", { class: "filters" },
        E.forWhom,
        checks("substance", this.t("Substance"), SUBSTANCES, []),
        checks("goal", this.t("Goal"), GOALS, goals),
        checks("format", this.t("Format"), FORMATS, formats),
        checks("kind", this.t("Kind"), KINDS, []),
        // Not "only": the API puts groups for these people first, then groups for everyone.
        checks("audience", this.t("The person is… (their groups shown first)"), AUDIENCES, []),
        checks("day", this.t("Days"), Object.keys(DAYS), []),
        checks("time", this.t("Time of day"), TIMES, [], [
          h("label", { for: "tonight" }, E.tonight, this.t("Tonight (from now until midnight there)")),
          h("label", { for: "soon" }, E.soon, this.t("Starts within 2 hours")), E.errors.soon]),
        field("radius", this.t("Within (km)"), h("input", { type: "number", min: 1, max: 500, step: 1, inputmode: "numeric",
          value: this.getAttribute("radius") || 25, onchange: () => this._refilter() })),
        field("sort", this.t("Order"), h("select", { onchange: () => this._refilter() },
          Object.keys(SORTS).map((s) => h("option", { value: s }, this.t(SORTS[s]))))),
        field("words", this.t("Words (optional)"), h("input", { type: "text", placeholder: this.t("e.g. SMART, online"),
          onchange: () => this._refilter() })),
        field("speaks", this.t("Services that speak"), h("select", { onchange: () => this._refilter() },
          h("option", { value: "" }, this.t("Any language")),
          SPOKEN.map((code) => h("option", { value: code, lang: code, selected: list(this.getAttribute("languages")).includes(code) },
            languageName(code, this._locale()))))),
        field("tz", this.t("Show times in"), h("select", { onchange: () => { this._tzChoice = this._els.tz.value; this._refilter(true); } },
          h("option", { value: "", selected: !zone }, this.t("The searched place's time")),
          zones.map((z) => h("option", { value: z, selected: z === zone }, z === device ? this.t("{city} time (this device)", { city: zoneCity(z) }) : this.t("{city} time", { city: zoneCity(z) })))))));
      return E.filters;
    }

    _buildKeysHelp() {
      const E = this._els;
      // No single-key shortcuts on touch screens: there is no keyboard to use them, and the help is noise.
      if (isTouch()) { E.keysOn = null; return null; }
      E.keysOn = h("input", { type: "checkbox", id: "keys-on", checked: true });
      const k = (key) => h("kbd", {}, key);
      return h("p", { class: "keys", id: "keys-help" },
        h("label", { for: "keys-on" }, E.keysOn, this.t("Single-key shortcuts:")), " ",
        k("/"), " ", this.t("place"), ", ", k("j"), " / ", k("k"), " ", this.t("next / previous result"), ", ", k("a"), " ",
        this.t("add or remove"), ", ", k("h"), " ", this.t("create handout"), ", ", k("Esc"), " ", this.t("leave a text box."));
    }

    _buildPanel() {
      const E = this._els;
      E.count = h("p", { id: "chosen-count" });
      E.chosen = h("ol", { class: "chosen", "aria-labelledby": "handout-heading" });
      E.errors.seven = h("p", { id: "seven-error", class: "error", hidden: true });
      E.seven = h("select", { id: "seven", "aria-describedby": "seven-error" },
        h("option", { value: "" }, this.t("None chosen")),
        Object.entries(SEVEN_DAY_GOALS).map(([value, text]) => h("option", { value }, this.t(text))));
      E.errors.note = h("p", { id: "note-error", class: "error", hidden: true });
      E.note = h("textarea", { id: "note", maxlength: 500, rows: 3, "aria-describedby": "note-hint note-error" });
      E.errors.handout = h("p", { class: "error", role: "alert", hidden: true });
      E.create = h("button", { type: "button", onclick: () => this.createHandout() }, this.t("Create handout"));
      E.made = h("div", { class: "made", hidden: true });
      E.say = h("p", { class: "sr", role: "status", "aria-live": "polite" });
      // The controls wait until something is chosen, so the panel stays short above a phone's results.
      E.panelBody = h("div", { class: "panel-body", hidden: true },
        h("div", { class: "field" }, h("label", { for: "seven" }, this.t("Goal for the next 7 days (optional)")), E.seven, E.errors.seven),
        h("label", { for: "note" }, this.t("Note for the client's copy (optional)")),
        h("p", { id: "note-hint", class: "hint" }, this.t("Up to {n} characters, printed on this one copy only.", { n: 500 })),
        E.note, E.errors.note,
        h("p", { class: "kept hint" }, this.t(KEPT)),
        h("div", { class: "actions" }, E.create));
      E.panelHeading = h("h2", { id: "handout-heading", tabindex: "-1" }, this.t("Handout"));
      const panel = h("aside", { class: "panel", id: "handout", "aria-labelledby": "handout-heading" },
        E.panelHeading,
        E.count, E.chosen, E.panelBody,
        E.errors.handout, E.made, E.say);
      this._renderSelection();
      return panel;
    }

    _goToPanel() {
      const heading = this._els.panelHeading;
      if (!heading) return;
      heading.scrollIntoView({ block: "start" });
      heading.focus({ preventScroll: true });
    }

    // ---------------------------------------------------------------- place box (ARIA combobox)

    _onPlaceInput() {
      clearTimeout(this._suggestTimer);
      const text = this._els.place.value.trim();
      if (text.length < 2 || /^-?\d+(\.\d+)?\s*,/.test(text)) { this._closeList(); return; }
      this._suggestTimer = setTimeout(() => this._suggest(text), DEBOUNCE_MS);
    }

    async _suggest(text) {
      if (this._suggestAbort) this._suggestAbort.abort();
      const control = (this._suggestAbort = new AbortController());
      let items = [];
      try {
        const data = await this._request("/v1/places", { params: { q: text, limit: 8 }, signal: control.signal });
        items = ((data && data.items) || []).filter((p) => p && p.label);
      } catch (e) {
        items = []; // no gazetteer endpoint: the box still takes whatever is typed
      }
      if (control !== this._suggestAbort || this._els.place.value.trim() !== text) return;
      if (this._shadow.activeElement !== this._els.place) return;
      this._showList(items);
    }

    _showList(items) {
      const E = this._els;
      this._places = items;
      this._active = -1;
      E.list.replaceChildren(...items.map((place, i) => h("li", { id: `place-option-${i}`, role: "option", "aria-selected": "false",
        onmousedown: (e) => e.preventDefault(), onclick: () => this._choosePlace(place) }, place.label)));
      E.list.hidden = !items.length;
      E.place.setAttribute("aria-expanded", String(items.length > 0));
      E.place.removeAttribute("aria-activedescendant");
    }

    _closeList() {
      const E = this._els;
      if (!E.list) return;
      clearTimeout(this._suggestTimer);
      if (this._suggestAbort) { this._suggestAbort.abort(); this._suggestAbort = null; }
      E.list.hidden = true;
      E.list.replaceChildren();
      this._places = [];
      this._active = -1;
      E.place.setAttribute("aria-expanded", "false");
      E.place.removeAttribute("aria-activedescendant");
    }

    _moveActive(delta) {
      const options = Array.from(this._els.list.children);
      if (!options.length) return;
      let next = this._active + delta;
      if (next >= options.length) next = 0;
      if (next < 0) next = options.length - 1;
      this._active = next;
      options.forEach((o, i) => o.setAttribute("aria-selected", String(i === this._active)));
      if (this._active >= 0) {
        this._els.place.setAttribute("aria-activedescendant", options[this._active].id);
        options[this._active].scrollIntoView({ block: "nearest" });
      } else {
        this._els.place.removeAttribute("aria-activedescendant");
      }
    }

    _onPlaceKey(e) {
      const open = !this._els.list.hidden;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!open) { if (this._els.place.value.trim().length >= 2) this._suggest(this._els.place.value.trim()); return; }
        e.preventDefault();
        this._moveActive(e.key === "ArrowDown" ? 1 : -1);
      } else if (e.key === "Enter" && open && this._active >= 0) {
        e.preventDefault();
        this._choosePlace(this._places[this._active]);
      } else if (e.key === "Escape" && open) {
        e.preventDefault(); // keeps the shortcut handler from leaving the box as well
        this._closeList();
      } else if (e.key === "Tab") {
        this._closeList();
      }
    }

    _choosePlace(place) {
      this._els.place.value = place.label;
      this._closeList();
      this.search();
    }

    _locate() {
      this._clearErrors();
      this._announce(this.t("Finding your location…"));
      navigator.geolocation.getCurrentPosition((position) => {
        // About 100 m: enough for distances, no more precise than that.
        const { latitude, longitude } = position.coords;
        this._els.place.value = `${latitude.toFixed(3)},${longitude.toFixed(3)}`;
        this.search();
      }, (error) => {
        this._announce("");
        this._fieldError("near", error.code === 1 ? this.t("Location permission was refused; type a postcode or suburb instead.")
          : this.t("Your location is not available; type a postcode or suburb instead."));
      }, { maximumAge: 600000, timeout: 10000 });
    }

    // ---------------------------------------------------------------- searching

    _refilter(zoneOnly = false) {
      // Another zone changes only how times read: redraw what is there rather than search again.
      if (zoneOnly && this._searched) { this._renderResults(); this._renderZone(); return; }
      if (this._els.place.value.trim() || (this._els.words && this._els.words.value.trim())) this.search();
    }

    _checked(name) {
      const box = this._els[name];
      if (box) return Array.from(box.querySelectorAll(`input[name="${name}"]:checked`)).map((i) => i.value);
      return name === "goal" ? list(this.getAttribute("goals")) : name === "format" ? list(this.getAttribute("formats")) : [];
    }

    /** The search parameters the widget's controls (or attributes, in compact mode) describe. */
    query(page = 1) {
      const E = this._els;
      const family = E.forWhom && E.forWhom.querySelector("input:checked").value === "family_friends";
      const params = {
        near: E.place.value.trim(),
        radius_km: E.radius ? E.radius.value.trim() : this.getAttribute("radius") || "",
        goal: this._checked("goal").join(","),
        substance: this._checked("substance").join(","),
        format: this._checked("format").join(","),
        language: E.speaks ? E.speaks.value : list(this.getAttribute("languages")).join(","),
        kind: this._checked("kind").join(","),
        audience: (family ? ["family_friends"] : []).concat(this._checked("audience")).join(","),
        day: this._checked("day").join(","),
        time: this._checked("time").join(","),
        tonight: E.tonight && E.tonight.checked ? "true" : "",
        starts_within: E.soon && E.soon.checked ? String(SOON_MINUTES) : "",
        q: E.words ? E.words.value.trim() : "",
        sort: E.sort ? E.sort.value : "best",
        // Only a zone someone chose: by default times read in the searched place's zone.
        tz: this._tzChoice || "",
        // "Why it fits" in the interface language (English needs no parameter).
        lang: this.language === "en" ? "" : this.language,
        per_page: String(PER_PAGE),
        page: String(page),
        fields: CARD_FIELDS.join(","),
      };
      for (const name of Object.keys(params)) if (params[name] === "") delete params[name];
      return params;
    }

    /** Run the search (page 1 replaces the results; later pages add to them). */
    async search(page = 1) {
      const E = this._els;
      this._closeList();
      this._clearErrors();
      const params = this.query(page);
      if (!params.near && !params.q) {
        this._fieldError("near", this.t("Type a postcode, suburb or address."));
        return;
      }
      this._searched = true;
      this._emit("linkage:search", { query: params });
      if (this._searchAbort) this._searchAbort.abort();
      const control = (this._searchAbort = new AbortController());
      E.results.setAttribute("aria-busy", "true");
      if (page === 1) this._announce(this.t("Searching…"));
      let data;
      let programs;
      try {
        [data, programs] = await Promise.all([
          this._request("/v1/search", { params, signal: control.signal }).catch((error) => {
            // A directory that knows `fields` but not one of these names: ask for whole items.
            if (error.parameter !== "fields") throw error;
            const whole = Object.assign({}, params);
            delete whole.fields;
            return this._request("/v1/search", { params: whole, signal: control.signal });
          }),
          Promise.race([this._loadPrograms(), new Promise((resolve) => setTimeout(() => resolve(new Map()), 3000))]),
        ]);
      } catch (error) {
        if (control !== this._searchAbort || error.name === "AbortError") return;
        E.results.removeAttribute("aria-busy");
        this._announce("");
        this._showError(error);
        return;
      }
      if (control !== this._searchAbort) return;
      E.results.removeAttribute("aria-busy");
      E.keyError.hidden = true; // the directory answered: the key is good
      this._programs = programs;
      const items = Array.isArray(data.items) ? data.items : [];
      this._page = page;
      this._total = Number(data.total) || 0;
      const near = (data.query && data.query.near) || null;
      this._near = (near && near.name) || params.near || "";
      this._placeZone = (near && near.timezone) || "";
      this._audiences = (data.query && Array.isArray(data.query.audience)) ? data.query.audience : list(params.audience);
      this._lastParams = params;
      const first = this._items.length;
      this._items = page === 1 ? items : this._items.concat(items);
      this._renderResults(page === 1 ? 0 : first);
      // A directory older than `fields` ignores it, with a warning that is no business of the reader's.
      const warnings = (Array.isArray(data.warnings) ? data.warnings : []).filter((w) => !/\Wfields\W/.test(String(w)));
      E.warnings.replaceChildren(...warnings.map((w) => h("li", {}, String(w))));
      E.warnings.hidden = !warnings.length;
      this._renderZone();
      const shown = page === 1 ? this._showReadWords(data.query) : [];
      if (page === 1) {
        this._announce(this._summary() + (shown.length
          ? ". " + this.t("Your words were read as filters, now ticked in the form: {filters}.", { filters: shown.join("; ") }) : ""));
      }
      else {
        this._announce(this.tn("{n} more option shown, {shown} of {total}", "{n} more options shown, {shown} of {total}",
          items.length, { shown: this._items.length, total: this._total }));
        const added = this._articles()[first];
        if (added) added.focus();
      }
      this._emit("linkage:results", { total: this._total, items, page, query: params });
    }

    /** Tick the controls for substances and audiences the API read from the typed words, so the form
        says what was searched; the words box keeps only the words still matched as text. Returns what
        was ticked, in words. */
    _showReadWords(echo) {
      const E = this._els;
      if (!echo || !E.substance || !E.audience || !E.forWhom) return [];
      const ticked = [];
      const tick = (box, name, value, text) => {
        let input = Array.from(box.querySelectorAll(`input[name="${name}"]`)).find((i) => i.value === String(value));
        if (!input) {
          // A value the form does not offer (cocaine, veterans): add its box rather than hide the filter.
          input = h("input", { type: "checkbox", name, value, onchange: () => this._refilter() });
          box.insertBefore(h("label", {}, input, this._label(value)), E.errors[name]);
        }
        if (input.checked) return;
        input.checked = true; // no change event: the search that read the words has just run
        ticked.push(text || this._label(value));
      };
      for (const value of Array.isArray(echo.substance) ? echo.substance : []) tick(E.substance, "substance", value);
      for (const value of Array.isArray(echo.audience) ? echo.audience : []) {
        if (value === "family_friends") {
          const family = E.forWhom.querySelector('input[value="family_friends"]');
          if (!family.checked) { family.checked = true; ticked.push(this.t("For a family member or friend")); }
        } else if (value !== "everyone") tick(E.audience, "audience", value);
      }
      if (ticked.length && E.words && "q" in echo) E.words.value = echo.q == null ? "" : String(echo.q);
      return ticked;
    }

    _summary() {
      return this._near
        ? this.tn("{n} option near {place}", "{n} options near {place}", this._total, { place: this._near })
        : this.tn("{n} option", "{n} options", this._total);
    }

    _forEveryone(item) {
      if (typeof item.for_everyone === "boolean") return item.for_everyone;
      return !Array.isArray(item.audiences) || !item.audiences.length || item.audiences.includes("everyone");
    }

    _renderResults(from = 0) {
      const E = this._els;
      if (from === 0) { E.results.replaceChildren(); E.groupResults.replaceChildren(); this._current = -1; }
      // With no audience asked, options for particular groups go under their own heading.
      const apart = !(this._audiences && this._audiences.length);
      this._items.slice(from).forEach((item) => {
        const target = apart && !this._forEveryone(item) ? E.groupResults : E.results;
        target.append(h("li", {}, this._renderItem(item)));
      });
      E.group.hidden = !E.groupResults.children.length;
      if (this._searched && !this._items.length) {
        E.results.append(h("li", { class: "empty" }, this.t("Nothing matched. Try a wider distance, fewer filters, or online options.")));
      }
      E.hint.hidden = this._searched;
      const demo = this._items.some((i) => i && i.source && /^Demo data/.test(String(i.source.name || "")));
      // The page around the widget may carry the notice already: one banner, not two, on a phone's first screen.
      E.demo.hidden = !demo || this.getAttribute("demo-notice") === "page";
      const left = this._total - this._items.length;
      E.more.hidden = left <= 0;
      E.more.textContent = this.t("Show {more} more ({shown} of {total} shown)", { more: Math.min(left, PER_PAGE), shown: this._items.length, total: this._total });
    }

    /** Which zone the times read in, and a switch between the searched place's zone and this device's. */
    _renderZone() {
      const E = this._els;
      const device = deviceZone();
      const shown = this._displayZone();
      const place = this._placeZone;
      if (!this._searched || !place || (place === device && shown === place)) { E.zone.hidden = true; return; }
      E.zone.hidden = false;
      const city = zoneCity(shown);
      E.zoneNote.textContent = shown === place
        ? (this._near ? this.t("Times are in {city} time (the time at {place}).", { city, place: this._near })
          : this.t("Times are in {city} time (the time at the place searched).", { city }))
        : shown === device ? this.t("Times are in {city} time (this device's time).", { city })
          : this.t("Times are in {city} time.", { city });
      const target = shown === device ? place : device;
      E.zoneSwitch.textContent = target === device ? this.t("Show this device's time ({city})", { city: zoneCity(device) })
        : this.t("Show {city} time", { city: zoneCity(place) });
      E.zoneSwitch.dataset.zone = target === place ? "" : target;
      if (E.tz && E.tz.options[0]) E.tz.options[0].textContent = this.t("{city} time (the searched place)", { city: zoneCity(place) });
    }

    _switchZone() {
      const E = this._els;
      this._tzChoice = E.zoneSwitch.dataset.zone || "";
      if (E.tz) {
        if (this._tzChoice && !Array.from(E.tz.options).some((o) => o.value === this._tzChoice)) {
          E.tz.append(h("option", { value: this._tzChoice }, this.t("{city} time", { city: zoneCity(this._tzChoice) })));
        }
        E.tz.value = this._tzChoice;
      }
      this._renderResults();
      this._renderZone();
      this._say(E.zoneNote.textContent);
      E.zoneSwitch.focus();
    }

    _renderItem(item) {
      const full = this.mode === "full";
      const heading = this._id("result");
      const formats = Array.isArray(item.formats) ? item.formats : [];
      const meta = [item.kind && this._label(item.kind), item.program, item.approach && this._label(item.approach),
        formats.map((f) => this._label(f)).join(", ")].filter(Boolean).join(" · ");
      const source = (item.source && item.source.name) || this.t("unknown");
      const article = h("article", { class: "result", tabindex: "-1", "aria-labelledby": heading,
        "data-id": item.id, "data-kind": item.kind || "", "data-goals": (item.goals || []).join(" "),
        "data-formats": formats.join(" "), "data-languages": (Array.isArray(item.languages) ? item.languages : []).join(" "),
        "data-distance-km": item.distance_km == null ? "" : item.distance_km,
        "data-for-everyone": String(this._forEveryone(item)) },
      h("h3", { id: heading }, String(item.name || "")),
      h("p", { class: "meta" }, meta),
      this._distance(item, formats),
      this._sessions(item),
      Array.isArray(item.why) && item.why.length
        ? h("p", { class: "why" }, h("span", { class: "label" }, this.t("Why it fits:"), " "), item.why.map(String).join(" · ")) : null,
      this._checks(item),
      this._explainer(item),
      this._firstVisit(item),
      this._contact(item),
      this._source(item, source),
      full ? h("div", { class: "actions" }, h("button", { type: "button", class: "quiet add", "data-id": item.id,
        "aria-pressed": String(this._selection.has(item.id)), "aria-describedby": heading,
        onclick: () => this.toggle(item) }, this.t("Add to handout"))) : null);
      return article;
    }

    /** Where a listing came from and when it was last checked, said once: "last checked 13 Jan 2026 — may be out of date". */
    _source(item, source) {
      const checked = (item.stale && item.stale.verified_at) || item.verified_at;
      const text = checked ? this.t("Source: {source} · last checked {date}", { source, date: this._dayText(checked) })
        : this.t("Source: {source}", { source });
      return h("p", { class: "source" }, text,
        item.stale ? h("strong", { class: "stale" }, checked ? " — " : " · ", this.t("may be out of date")) : null);
    }

    /** What a clinician checks before referring: a GP referral, cost, access, languages. */
    _checks(item) {
      const parts = [];
      if (item.referral === "gp_referral") parts.push(h("span", { class: "gp" }, this.t("GP referral needed")));
      else if (item.referral === "self") parts.push(h("span", {}, this.t("No referral needed")));
      if (item.cost) parts.push(h("span", { class: "cost" }, this.t("Cost: {cost}", { cost: this._label(item.cost).toLocaleLowerCase(this._locale()) })));
      const access = Array.isArray(item.accessibility) ? item.accessibility.filter(Boolean) : [];
      parts.push(h("span", { class: "access" }, access.length
        ? this.t("Access: {access}", { access: access.map((a) => this._label(a)).join(", ") }) : this.t("Access: not recorded")));
      const languages = Array.isArray(item.languages) ? item.languages.filter(Boolean) : [];
      if (languages.length && !(languages.length === 1 && /^en\b/i.test(languages[0]))) {
        parts.push(h("span", { class: "languages" }, this.t("Languages: {languages}", { languages: languages.map((l) => languageName(l, this._locale())).join(", ") })));
      }
      return h("p", { class: "checks" }, parts.map((p, i) => (i ? [" · ", p] : p)));
    }

    _distance(item, formats) {
      const remote = formats.filter((f) => f !== "in_person");
      const km = item.distance_km == null || item.distance_km === "" ? NaN : Number(item.distance_km);
      if (Number.isFinite(km)) {
        // The distance is a number with its unit: kept left to right inside Arabic text.
        const text = this.t("{km} km away", { km: kmText(km) });
        const also = remote.map((f) => this._label(f)).join(", ").toLocaleLowerCase(this._locale());
        return h("p", { class: "distance" }, remote.length ? this.t("{distance} · also {formats}", { distance: text, formats: also }) : text);
      }
      if (remote.length) {
        const or = this.t(" or "); // apart: pybabel does not extract a call nested in another's arguments
        return h("p", { class: "distance" }, this.t("{formats}: no travel needed",
          { formats: remote.map((f) => this._label(f)).join(or) }));
      }
      return null;
    }

    _when(iso, zone) {
      try {
        return new Intl.DateTimeFormat(this._locale(), { weekday: "short", day: "numeric", month: "short",
          hour: "numeric", minute: "2-digit", timeZone: zone }).format(new Date(iso));
      } catch (e) {
        return String(iso).slice(0, 16).replace("T", " ");
      }
    }

    _time(iso, zone) {
      try {
        return new Intl.DateTimeFormat(this._locale(), { hour: "numeric", minute: "2-digit", timeZone: zone }).format(new Date(iso));
      } catch (e) {
        return String(iso).slice(11, 16);
      }
    }

    _day(iso, zone) {
      try {
        return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date(iso));
      } catch (e) {
        return String(iso).slice(0, 10);
      }
    }

    _sessions(item) {
      const sessions = Array.isArray(item.next_sessions) ? item.next_sessions.filter((x) => x && x.start).slice(0, 2) : [];
      if (!sessions.length) return item.open_24_7 ? h("p", { class: "sessions" }, this.t("Open 24/7")) : null;
      const viewer = this._displayZone(item);
      const own = item.timezone;
      const rows = sessions.map((s) => {
        const mine = this._when(s.start, viewer);
        const theirs = own ? this._when(s.start, own) : mine;
        const lead = s.in_progress && s.end ? this.t("On now, ends {time}", { time: this._time(s.end, viewer) })
          : s.in_progress ? this.t("On now") : mine;
        // The listing's own clock too, when it reads differently (time alone if the day is the same).
        let other = "";
        if (own && theirs !== mine && !s.in_progress) {
          const sameDay = this._day(s.start, viewer) === this._day(s.start, own);
          other = [" (", h("bdi", {}, this.t("{time} {city} time", { time: sameDay ? this._time(s.start, own) : theirs, city: zoneCity(own) })), ")"];
        }
        // Each time with its zone is an isolated run, so a right-to-left line keeps it readable.
        return h("li", {}, h("bdi", {}, h("time", { datetime: s.start }, lead), " ", this.t("{city} time", { city: zoneCity(viewer) })), other);
      });
      return h("div", { class: "sessions" }, h("span", { class: "label" }, item.open_24_7 ? this.t("Open 24/7. Next sessions:") : this.t("Next sessions:")),
        h("ul", {}, rows));
    }

    _explainer(item) {
      const program = item.program && this._programs && this._programs.get(String(item.program).toLowerCase());
      if (!program) return null;
      return h("details", { class: "explainer" }, h("summary", {}, this.t("What is {program}?", { program: item.program })), h("p", {}, String(program.explainer)));
    }

    _firstVisit(item) {
      const v = item.first_visit || {};
      const notes = [v.can_attend_while_using && this.t("you can come while still using"), v.camera_optional && this.t("camera optional"),
        v.no_need_to_speak && this.t("no need to speak")].filter(Boolean);
      if (!notes.length && !v.what_to_expect) return null;
      const text = notes.join(" · ").replace(/^./, (c) => c.toUpperCase());
      return h("p", { class: "first-visit" }, h("span", { class: "label" }, this.t("First visit:"), " "),
        text, text && v.what_to_expect ? ". " : "", v.what_to_expect ? String(v.what_to_expect) : "");
    }

    _contact(item) {
      const loc = item.location;
      const c = item.contact || {};
      const parts = [];
      if (loc) {
        const place = [loc.address, [loc.locality, loc.state, loc.postcode].filter(Boolean).join(" ")].filter(Boolean).join(", ");
        if (place) parts.push(h("span", {}, place));
      }
      if (c.phone) {
        const dial = String(c.phone).replace(/[^\d+]/g, "");
        // The number itself runs left to right, whatever the language around it.
        const number = h("bdi", { dir: "ltr" }, String(c.phone));
        const words = [this.t("Phone"), " ", number];
        parts.push(dial ? h("a", { href: `tel:${dial}` }, words) : h("span", {}, words));
      }
      // Links the service's last link check found gone are still shown, with a warning.
      const dead = new Map((item.dead_links || []).flatMap((d) => (d.fields || []).map((f) => [f, d])));
      const link = (field, text) => {
        const href = safeUrl(c[field]);
        const gone = dead.get(field);
        return href ? [h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, text, h("span", { class: "sr" }, " ", this.t("(opens in a new tab)"))),
          gone ? h("strong", { class: "dead-link" }, " ", this.t("(did not work when checked {date})", { date: gone.checked_at })) : null] : null;
      };
      parts.push(link("website", this.t("Website")), link("conference_url", this.t("Join online")), link("registration_url", this.t("Register")));
      const shown = parts.filter(Boolean);
      if (!shown.length) return null;
      return h("p", { class: "contact" }, shown.map((p, i) => (i ? [" · ", p] : p)));
    }

    // ---------------------------------------------------------------- the handout

    /** Add a listing to the handout, or take it off; true when it is now chosen. */
    toggle(listing) {
      const chosen = this._selection;
      let selected;
      if (chosen.has(listing.id)) {
        chosen.delete(listing.id);
        selected = false;
      } else {
        if (chosen.size >= MAX_CHOICES) {
          this._say(this.t("A handout holds at most {max} options; remove one first.", { max: MAX_CHOICES }));
          return false;
        }
        chosen.set(listing.id, listing);
        selected = true;
      }
      for (const button of this._shadow.querySelectorAll("button.add")) {
        button.setAttribute("aria-pressed", String(chosen.has(button.dataset.id)));
      }
      if (this._els.made && !this._els.made.hidden) this._els.madeStale.hidden = false;
      this._renderSelection();
      this._say((selected ? this.t("Added {name}.", { name: listing.name }) : this.t("Removed {name}.", { name: listing.name })) + " " +
        this.tn("{n} option on the handout.", "{n} options on the handout.", chosen.size));
      this._emit("linkage:select", { listing, selected, selection: this.selection });
      return selected;
    }

    clearSelection() {
      for (const listing of Array.from(this._selection.values())) this.toggle(listing);
    }

    _renderSelection() {
      const E = this._els;
      if (!E.chosen) return;
      const n = this._selection.size;
      E.count.textContent = n ? this.t("{n} of {max} chosen.", { n, max: MAX_CHOICES })
        : this.t("Nothing chosen yet. Add up to {max} options.", { max: MAX_CHOICES });
      E.chosen.replaceChildren(...Array.from(this._selection.values()).map((listing) => h("li", {},
        String(listing.name || listing.id), " ",
        h("button", { type: "button", class: "quiet small", "aria-label": this.t("Remove {name}", { name: listing.name || listing.id }),
          onclick: () => this.toggle(listing) }, this.t("Remove")))));
      E.chosen.hidden = !n;
      E.panelBody.hidden = !n;
      if (E.jump) {
        E.jump.textContent = this.t("Handout ({n})", { n });
        E.jump.setAttribute("aria-label", this.tn("Handout: {n} option chosen", "Handout: {n} options chosen", n));
      }
    }

    /** POST the chosen options as a referral (never the note) and show its links, print buttons and SMS text. */
    async createHandout() {
      const E = this._els;
      if (!E.create) return;
      this._clearErrors();
      if (!this._selection.size) {
        this._fieldError("handout", this.t("Add at least one option to the handout first."));
        return;
      }
      const goals = this._checked("goal").filter((g) => GOALS.includes(g));
      const body = { listing_ids: this.selection };
      if (goals.length === 1) body.goal = goals[0];
      if (E.seven.value) body.seven_day_goal = E.seven.value;
      if (this._placeZone) body.timezone = this._placeZone;
      // Where and how the search looked, so "widen the choice" suggestions fit it (not stored).
      const searched = this._lastParams || {};
      if (searched.near) body.near = searched.near;
      if (searched.format) body.formats = list(searched.format);
      // Whose options and for what substance, as the form now shows them, so suggestions keep to them.
      const substances = this._checked("substance");
      const audiences = this.query().audience;
      if (substances.length) body.substances = substances;
      if (audiences) body.audiences = list(audiences);
      E.create.disabled = true;
      this._say(this.t("Creating the handout…"));
      let data;
      try {
        data = await this._request("/v1/referrals", { method: "POST", body });
      } catch (error) {
        this._say("");
        if (KEY_ERRORS.includes(error.code)) {
          this._showKeyError(error.code);
          this._fieldError("handout", this.t("The handout was not made: see the embed key message at the top."));
        }
        else this._fieldError(CONTROL_FOR[error.parameter] === "seven" ? "seven" : "handout", error.message);
        return;
      } finally {
        E.create.disabled = false;
      }
      this._showHandout(data || {});
    }

    /** The handout's address on the Linkage this widget talks to (public links may name another host). */
    _handoutPath(code, suffix = "") {
      return `${this._base()}/r/${encodeURIComponent(code)}${suffix}`;
    }

    /** Print or download the client's copy with the note: an ordinary form posted to a new tab, so the
        note goes only into that one answer and never into storage. */
    _postNote(suffix, print) {
      const code = this._made && this._made.code;
      if (!code) return;
      const note = h("input", { type: "hidden", name: "note" });
      note.value = this._els.note.value.trim();
      const form = h("form", { method: "post", action: this._handoutPath(code, suffix), target: "_blank", rel: "noopener",
        hidden: true }, note, print ? h("input", { type: "hidden", name: "print", value: "1" }) : null);
      this._shadow.append(form);
      form.submit();
      form.remove();
      this._say(print ? this.t("The handout opens in a new tab to print.") : this.t("The PDF with the note opens in a new tab."));
    }

    _showHandout(data) {
      const E = this._els;
      const url = safeUrl(data.url) || "";
      const code = String(data.code || "");
      this._made = { code, url };
      const file = (field, suffix) => safeUrl(data[field]) || (url ? url + suffix : "");
      const heading = h("h3", { tabindex: "-1", id: "made-heading" }, code ? this.t("Handout ready: {code}", { code }) : this.t("Handout ready"));
      // The referral's SMS, when the directory sends it with its count: {text, encoding, characters, segments}.
      const sms = typeof data.sms === "string" && data.sms_length && typeof data.sms_length === "object"
        ? { ...data.sms_length, text: data.sms } : null;
      E.smsCount = this._smsCount(sms);
      E.sms = h("textarea", { id: "sms", readonly: true, rows: 5, "aria-describedby": E.smsCount ? "sms-count" : null });
      E.madeStale = h("p", { class: "warnings", hidden: true }, this.t("The choice has changed since; create the handout again to include it."));
      const copy = h("button", { type: "button", class: "quiet", onclick: () => this._copySms(copy) }, this.t("Copy text"));
      const expires = data.expires_at ? new Date(data.expires_at) : null;
      const warnings = Array.isArray(data.warnings) ? data.warnings.filter((w) => w != null) : [];
      const suggestions = Array.isArray(data.suggestions) ? data.suggestions.filter((s) => s && s.id) : [];
      const link = (href, text, more) => (href ? h("li", {}, h("a", Object.assign({ href, target: "_blank", rel: "noopener" }, more || {}),
        text, h("span", { class: "sr" }, " ", this.t("(opens in a new tab)")))) : null);
      E.made.replaceChildren(h("div", {}, heading, E.madeStale,
        h("p", {}, this.t("Link:"), " ", url ? h("a", { class: "url", href: url, target: "_blank", rel: "noopener", dir: "ltr" }, url) : this.t("none")),
        h("p", { class: "hint" }, this.t("The handout page has a QR code to scan and prints on one page."),
          expires && !isNaN(expires) ? " " + this.t("It expires on {date}.", { date: expires.toLocaleDateString(this._locale(), { day: "numeric", month: "long", year: "numeric" }) }) : ""),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "print", onclick: () => this._postNote("", true) }, this.t("Print")),
          h("button", { type: "button", class: "quiet pdf-note", onclick: () => this._postNote(".pdf", false) }, this.t("PDF with note"))),
        h("p", { class: "hint" }, this.t("Print and PDF with note put the note above on this copy only.")),
        h("ul", { class: "files", "aria-label": this.t("The handout's files") },
          link(url, this.t("Open handout (QR code)"), { class: "open" }),
          link(file("pdf", ".pdf"), this.t("PDF"), { class: "file-pdf" }),
          link(file("ics", ".ics"), this.t("Calendar file (.ics)"), { class: "file-ics" }),
          link(file("txt", ".txt"), this.t("Text version"), { class: "file-txt" })),
        h("label", { for: "sms" }, this.t("Text message (SMS)")), E.sms, E.smsCount,
        h("div", { class: "actions" }, copy),
        warnings.length ? h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, String(w)))) : null,
        suggestions.length ? h("div", { class: "suggestions" },
          h("p", { class: "label" }, this.t("To widen the choice, consider:")),
          h("ul", {}, suggestions.map((s) => h("li", {}, String(s.name || s.id),
            Array.isArray(s.why) && s.why.length ? ` (${s.why.filter((w) => w != null).map(String).join(", ")})` : "", " ",
            h("button", { type: "button", class: "quiet small add", "data-id": s.id, "aria-pressed": String(this._selection.has(s.id)),
              "aria-label": this.t("Add {name} to the handout", { name: s.name || s.id }), onclick: () => this.toggle(this._items.find((i) => i.id === s.id) || { id: s.id, name: s.name }) }, this.t("Add")))))) : null));
      E.made.hidden = false;
      heading.focus();
      this._say(code ? this.t("Handout ready: {code}.", { code }) : this.t("Handout ready."));
      this._loadSms(code, url, typeof data.sms === "string" ? data.sms : "", sms);
    }

    /** "160 characters, 1 SMS segment" (as a phone counts them) before sending, when the directory counted. */
    _smsCount(sms) {
      if (!sms) return null;
      const characters = Number(sms.characters);
      const segments = Number(sms.segments);
      if (!Number.isFinite(characters) || !Number.isFinite(segments)) return null;
      // Each count on its own first: pybabel does not extract a call nested in another's arguments.
      const characterCount = this.tn("{n} character", "{n} characters", characters);
      const segmentCount = this.tn("{n} SMS segment", "{n} SMS segments", segments);
      const text = this.t("{characters}, {segments}", { characters: characterCount, segments: segmentCount });
      return h("p", { id: "sms-count", class: "hint sms-count", "data-encoding": sms.encoding || "", hidden: true }, text);
    }

    async _loadSms(code, url, given, counted) {
      const E = this._els;
      const sms = E.sms;
      // The text version from the Linkage this widget talks to (CORS for the key's sites), else the
      // copy that came with the new handout, else the bare link.
      let text = "";
      if (code) {
        try { text = await this._request(this._handoutPath(code, ".txt"), { text: true }); } catch (e) { text = ""; }
      }
      if (E.sms !== sms) return;
      sms.value = text || given || (url ? this.t("Options to try: {url}", { url }) : "");
      // The count is of the referral's SMS text: shown only while that is the text in the box.
      if (E.smsCount) E.smsCount.hidden = !counted || sms.value !== counted.text;
    }

    async _copySms(button) {
      try {
        await navigator.clipboard.writeText(this._els.sms.value);
        this._say(this.t("Text copied."));
      } catch (e) {
        this._els.sms.select();
        this._say(this.t("Select the text and copy it."));
      }
      button.focus();
    }

    // ---------------------------------------------------------------- messages and errors

    _announce(text) { this._els.status.textContent = text; }

    _say(text) { (this._els.say || this._els.status).textContent = text; }

    _clearErrors() {
      const E = this._els;
      for (const el of Object.values(E.errors || {})) { el.textContent = ""; el.hidden = true; }
      for (const el of this._shadow.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      E.error.hidden = true;
      E.error.textContent = "";
    }

    _fieldError(name, message) {
      const E = this._els;
      const target = E.errors[name];
      if (!target) { E.error.textContent = message; E.error.hidden = false; return; }
      target.textContent = message;
      target.hidden = false;
      if (E.filters && E.filters.contains(target)) E.filters.open = true;
      const control = name === "near" ? E.place : E[name];
      if (control && control.tagName !== "FIELDSET") control.setAttribute("aria-invalid", "true");
      // A message beside a control is not a live region itself: say it once, politely.
      if (target.getAttribute("role") !== "alert") this._say(message);
    }

    /** An embed key the directory refused, in the widget's own words (never the server's, which may
        name commands or other sites): the public sees it too, the site's web team acts on it. */
    _keyMessage(code) {
      const site = window.location.origin;
      return KEY_REASONS[code]
        ? this.t("This site's embed key is not valid for {site} ({reason}); the site's web team needs to fix it.",
          { site, reason: this.t(KEY_REASONS[code]) })
        : this.t("This site's embed key is not valid for {site}; the site's web team needs to fix it.", { site });
    }

    _showKeyError(code) {
      const E = this._els;
      E.keyError.textContent = this._keyMessage(code);
      E.keyError.hidden = false;
    }

    _crossOrigin() {
      try { return new URL(this._base() || window.location.href, window.location.href).origin !== window.location.origin; } catch (e) { return false; }
    }

    _showError(error) {
      const name = CONTROL_FOR[error.parameter];
      if (KEY_ERRORS.includes(error.code)) this._showKeyError(error.code);
      else if (name && this._els.errors[name]) this._fieldError(name, error.message);
      else if (error.name === "TypeError" && this._crossOrigin() && !this.getAttribute("key")) {
        // Without a key another site's requests get no CORS answer, so the browser hides why.
        this._showKeyError("missing");
      } else this._fieldError("", error.name === "TypeError" ? this.t("The directory could not be reached; please try again.") : error.message);
    }

    // ---------------------------------------------------------------- keyboard shortcuts (full mode)

    _onDocumentKey(e) {
      if (this.mode !== "full" || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (!this._els.keysOn && e.key !== "Escape") return; // no shortcuts on touch screens
      if (this._els.keysOn && !this._els.keysOn.checked && e.key !== "Escape") return;
      const path = e.composedPath();
      const target = path[0];
      if (!path.includes(this)) {
        // From outside, only when nothing else has focus, and only for the first full widget.
        const idle = target === document.body || target === document.documentElement || target === document;
        if (!idle || document.querySelector(`${TAG}[mode="full"]`) !== this) return;
      }
      const typing = isTyping(target);
      if (e.key === "Escape") {
        if (typing && path.includes(this)) { e.preventDefault(); this._focusCurrent(); }
        return;
      }
      if (typing) return;
      if (e.key === "/") this._els.place.focus();
      else if (e.key === "j") this._step(1);
      else if (e.key === "k") this._step(-1);
      else if (e.key === "a") this._toggleCurrent();
      else if (e.key === "h") this.createHandout();
      else return;
      e.preventDefault();
    }

    _articles() { return Array.from(this._shadow.querySelectorAll("article.result")); }

    _focusedIndex() {
      const active = this._shadow.activeElement;
      const article = active && active.closest ? active.closest("article.result") : null;
      const index = article ? this._articles().indexOf(article) : -1;
      return index >= 0 ? index : this._current;
    }

    _focusCurrent() {
      const articles = this._articles();
      if (this._current >= 0 && articles[this._current]) articles[this._current].focus();
      else this._els.resultsHeading.focus();
    }

    _step(delta) {
      const articles = this._articles();
      if (!articles.length) { this._say(this.t("No results yet: press / and type a place.")); return; }
      const from = this._focusedIndex();
      const next = from < 0 ? (delta > 0 ? 0 : articles.length - 1) : Math.min(articles.length - 1, Math.max(0, from + delta));
      this._current = next;
      articles[next].focus();
    }

    _toggleCurrent() {
      const index = this._focusedIndex();
      const article = this._articles()[index];
      if (!article) { this._say(this.t("Move to a result first (j / k).")); return; }
      const item = this._items.find((i) => i.id === article.dataset.id);
      if (item) this.toggle(item);
    }
  }

  customElements.define(TAG, LinkageSearch);
})();
