"""XLSX deliveries read within bounds, for every XLSX feed: only the columns a contract wants,
rows and columns capped, and the workbook's size checked zipped and unzipped before anything is
decompressed (zip bombs). Beyond a limit the file is rejected naming the limit and the cell.

openpyxl pads each row to its last cell: one cell at column XFD on each of 10,000 rows took
1.2 GiB. Here each XML part is streamed through expat and only the wanted cells are kept, so
memory follows the contract's columns, never the sheet's width or the part's size. Values are
what openpyxl's `values_only` reading gives (its own number-format and date helpers convert
them; tests/test_xlsx.py compares the two readers).

    with open_workbook(raw, source_object) as book:
        head = book.rows("BaoCao", last=6)                   # every column, rows 1–6
        body = book.rows("BaoCao", columns=[2, 5], first=7)  # columns B and E from row 7 on
"""
from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator, Sequence
from xml.parsers import expat

from htx import limits
from htx.feeds.common import RejectedObject, read_whole

# Function-local imports: openpyxl (slow to import) only when a workbook is read.

_OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")   # .xls (Excel 97–2003) and encrypted workbooks
_CHUNK = 1 << 16
# What a damaged or foreign zip or XML part raises while being read: "not a readable XLSX".
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, expat.ExpatError, KeyError,
               ValueError, ArithmeticError, NotImplementedError, RuntimeError, OSError)


@dataclass(frozen=True)
class SheetLimits:
    rows: int
    columns: int
    uncompressed_bytes: int

    @classmethod
    def configured(cls) -> "SheetLimits":
        return cls(limits.XLSX_ROWS.value(), limits.XLSX_COLUMNS.value(),
                   limits.XLSX_UNCOMPRESSED_BYTES.value())


def open_workbook(source: bytes | BinaryIO, source_object: str,
                  bounds: SheetLimits | None = None) -> "Workbook":
    """The delivered workbook, opened (a context manager); rejects a file that is no XLSX or
    exceeds limits.XLSX_BYTES or limits.XLSX_UNCOMPRESSED_BYTES."""
    raw = read_whole(source, source_object, limits.XLSX_BYTES)
    if not raw:
        raise RejectedObject(source_object, "the file is empty (0 bytes), not an XLSX workbook")
    if raw.startswith(_OLE2_MAGIC):
        raise RejectedObject(source_object, "an Excel 97–2003 (.xls) or password-protected "
                                            "workbook, not an XLSX workbook")
    return Workbook(raw, source_object, bounds or SheetLimits.configured())


class Workbook:
    def __init__(self, raw: bytes, source_object: str, bounds: SheetLimits):
        self.source_object, self.bounds = source_object, bounds
        with _Readable(source_object):
            self.archive = zipfile.ZipFile(io.BytesIO(raw))
        total = sum(item.file_size for item in self.archive.infolist())
        if total > bounds.uncompressed_bytes:
            raise RejectedObject(source_object, (
                f"unzipped, the workbook would take {total:,} bytes, beyond the limit of "
                f"{limits.XLSX_UNCOMPRESSED_BYTES.named(bounds.uncompressed_bytes)}"))
        with _Readable(source_object):
            self._read_workbook()

    def __enter__(self) -> "Workbook":
        return self

    def __exit__(self, *exc) -> None:
        self.archive.close()

    def rows(self, sheet: str, *, columns: Sequence[int] | None = None, first: int = 1,
             last: int | None = None) -> dict[int, tuple]:
        """Row number → the values of `columns` (1-based, in that order; None: every column up
        to the row's last value), for each row from `first` to `last` holding a value there.
        Every value the sheet holds, wanted or not, must lie within the row and column limits."""
        path = self.sheet_paths.get(sheet)
        if path is None:
            found = ", ".join(repr(name) for name in self.sheet_paths)
            raise RejectedObject(self.source_object,
                                 f"no sheet {sheet!r}; the workbook's sheets are: {found}")
        found: dict[int, tuple] = {}
        with _Readable(self.source_object):
            for number, cells in self._sheet_rows(path):
                if last is not None and number > last:
                    break
                if number >= first and cells:
                    values = _picked(cells, columns)
                    if any(value is not None for value in values):
                        found[number] = values
        return found

    # --- the package ---------------------------------------------------------------------

    def _read_workbook(self) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        workbook = _target("", _relationships(self.archive, "_rels/.rels"), "/officeDocument")
        folder = posixpath.dirname(workbook)
        related = _relationships(self.archive, posixpath.join(
            folder, "_rels", posixpath.basename(workbook) + ".rels"))
        sheets, properties = [], {}

        def start(tag: str, attrs: dict) -> None:
            if tag == "sheet":
                relation = next(v for k, v in attrs.items() if _local(k) == "id")
                sheets.append((attrs["name"], _resolve(folder, related[relation][1])))
            elif tag == "workbookPr":
                properties.update(attrs)

        _parse(self.archive, workbook, start)
        self.sheet_paths = dict(sheets)
        date1904 = properties.get("date1904", "").lower() in ("1", "true")
        self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        strings = _target(folder, related, "/sharedStrings", required=False)
        self.shared_strings = _shared_strings(self.archive, strings) if strings else []
        styles = _target(folder, related, "/styles", required=False)
        self.date_styles, self.timedelta_styles = (
            _date_styles(self.archive, styles) if styles else (set(), set()))

    # --- the sheet -----------------------------------------------------------------------

    def _sheet_rows(self, path: str) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {column: value} of its non-empty cells), in sheet order."""
        sheet = _SheetStream(self)
        for _ in _parse_stepwise(self.archive, path, sheet.start, sheet.end, sheet.text):
            yield from sheet.finished
            sheet.finished.clear()

    def check_cell(self, row: int, column: int) -> None:
        """Rejects a value beyond the row or column limit, naming its cell."""
        if column > self.bounds.columns:
            limit = limits.XLSX_COLUMNS.named(self.bounds.columns)
        elif row > self.bounds.rows:
            limit = limits.XLSX_ROWS.named(self.bounds.rows)
        else:
            return
        raise RejectedObject(self.source_object, f"a value in cell {_cell_name(row, column)}, "
                                                 f"beyond the limit of {limit}")

    def value(self, kind: str, text: str, style: int, row: int, column: int) -> Any:
        """A cell's value as openpyxl's values_only reading gives it (a formula's cached result)."""
        try:
            return self._converted(kind, text, style)
        except (ValueError, IndexError, OverflowError):
            raise RejectedObject(self.source_object, (
                f"cell {_cell_name(row, column)} holds {text[:50]!r}, not a value of its type "
                f"{kind!r}")) from None

    def _converted(self, kind: str, text: str, style: int) -> Any:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        if kind == "n":
            number = float(text) if ("." in text or "e" in text.lower()) else int(text)
            if style not in self.date_styles:
                return number
            try:
                return from_excel(number, self.epoch, timedelta=style in self.timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"   # a date serial beyond dates: openpyxl's error value
        if kind == "s":
            return self.shared_strings[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text   # "str" (a formula's text result), "e" (an error such as #DIV/0!)


class _SheetStream:
    """expat handlers for a worksheet part: rows as they end, one cell held at a time."""

    def __init__(self, book: Workbook):
        self.book = book
        self.finished: list[tuple[int, dict[int, Any]]] = []
        self.row, self.column = 0, 0
        self.cells: dict[int, Any] = {}
        self.cell: dict | None = None        # the open <c>'s attributes
        self.value: list[str] | None = None  # the open <v>'s text
        self.inline: _StringItem | None = None
        self.value_text: str | None = None   # the cell's <v>
        self.inline_text: str | None = None  # the cell's <is> (an inline string)

    def start(self, tag: str, attrs: dict) -> None:
        if self.inline is not None:
            self.inline.start(tag)
        elif tag == "c":
            self.cell, self.value_text, self.inline_text = attrs, None, None
            reference = attrs.get("r")
            if reference:
                from openpyxl.utils.cell import coordinate_to_tuple

                self.row, self.column = coordinate_to_tuple(reference)
            else:
                self.column += 1
        elif self.cell is not None and tag == "v":
            self.value = []
        elif self.cell is not None and tag == "is":
            self.inline = _StringItem()
        elif tag == "row":
            number = attrs.get("r")
            self.row = _whole(number) if number else self.row + 1
            self.column, self.cells = 0, {}

    def text(self, data: str) -> None:
        if self.value is not None:
            self.value.append(data)
        elif self.inline is not None:
            self.inline.text(data)

    def end(self, tag: str) -> None:
        if self.inline is not None and tag != "is":
            self.inline.end(tag)
        elif tag == "is":
            self.inline_text, self.inline = self.inline.content(), None
        elif tag == "v" and self.value is not None:
            self.value_text, self.value = "".join(self.value), None
        elif tag == "c" and self.cell is not None:
            self._keep_cell()
            self.cell = None
        elif tag == "row":
            self.finished.append((self.row, self.cells))
            self.cells = {}

    def _keep_cell(self) -> None:
        kind = self.cell.get("t", "n")
        text = self.inline_text if kind == "inlineStr" else self.value_text
        if not text:   # no value (an empty or styled cell, a formula never computed)
            return
        value = text if kind == "inlineStr" else self.book.value(
            kind, text, int(self.cell.get("s") or 0), self.row, self.column)
        if value is None or value == "":
            return
        self.book.check_cell(self.row, self.column)
        self.cells[self.column] = value   # a cell written twice: the later one, as openpyxl


class _StringItem:
    """Text of a string item (<si> shared, <is> inline): its plain <t>, then its runs' <t>;
    phonetic guides (<rPh>) are not text of the cell."""

    def __init__(self):
        self.plain, self.runs = "", io.StringIO()
        self.in_run = self.in_phonetic = False
        self.buffer: list[str] | None = None

    def start(self, tag: str) -> None:
        if tag == "r":
            self.in_run = True
        elif tag == "rPh":
            self.in_phonetic = True
        elif tag == "t" and not self.in_phonetic:
            self.buffer = []

    def text(self, data: str) -> None:
        if self.buffer is not None:
            self.buffer.append(data)

    def end(self, tag: str) -> None:
        if tag == "t" and self.buffer is not None:
            if self.in_run:
                self.runs.write("".join(self.buffer))
            else:
                self.plain = "".join(self.buffer)
            self.buffer = None
        elif tag == "r":
            self.in_run = False
        elif tag == "rPh":
            self.in_phonetic = False

    def content(self) -> str:
        return self.plain + self.runs.getvalue()


class _Readable:
    """Turns what a damaged zip or XML part raises into the file's rejection."""

    def __init__(self, source_object: str):
        self.source_object = source_object

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None and issubclass(kind, _UNREADABLE):
            raise RejectedObject(self.source_object, f"not a readable XLSX workbook "
                                                     f"({kind.__name__}: {error})") from None
        return False


def _picked(cells: dict[int, Any], columns: Sequence[int] | None) -> tuple:
    if columns is not None:
        return tuple(cells.get(column) for column in columns)
    return tuple(cells.get(column) for column in range(1, max(cells) + 1))


def _whole(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(f"{text} is not a row number")
    return int(number)


def _cell_name(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


# --- XML parts ----------------------------------------------------------------------------

def _local(name: str) -> str:
    """A tag or attribute name without its namespace."""
    return name.rpartition("}")[2]


def _parse(archive: zipfile.ZipFile, name: str, start: Callable,
           end: Callable | None = None, text: Callable | None = None) -> None:
    for _ in _parse_stepwise(archive, name, start, end, text):
        pass


def _parse_stepwise(archive: zipfile.ZipFile, name: str, start: Callable,
                    end: Callable | None = None, text: Callable | None = None) -> Iterator[None]:
    """Feeds the part through expat in chunks, yielding after each: the handlers get local tag
    names. A DOCTYPE (where entity bombs live; no part of an XLSX has one) is refused."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = lambda tag, attrs: start(_local(tag), attrs)
    if end:
        parser.EndElementHandler = lambda tag: end(_local(tag))
    if text:
        parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = _refuse_doctype
    with archive.open(name) as part:
        while chunk := part.read(_CHUNK):
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
    yield


def _refuse_doctype(*_) -> None:
    raise ValueError("an XML part declares a DOCTYPE")


def _relationships(archive: zipfile.ZipFile, name: str) -> dict[str, tuple[str, str]]:
    """Id → (type, target) of a .rels part."""
    found = {}

    def start(tag: str, attrs: dict) -> None:
        if tag == "Relationship":
            found[attrs.get("Id")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    _parse(archive, name, start)
    return found


def _target(folder: str, related: dict, kind: str, required: bool = True) -> str | None:
    for relation_type, target in related.values():
        if relation_type.endswith(kind):
            return _resolve(folder, target)
    if required:
        raise KeyError(f"no {kind.lstrip('/')} part")
    return None


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target))


def _shared_strings(archive: zipfile.ZipFile, name: str) -> list[str]:
    strings: list[str] = []
    item: list[_StringItem | None] = [None]

    def start(tag: str, attrs: dict) -> None:
        if tag == "si":
            item[0] = _StringItem()
        elif item[0] is not None:
            item[0].start(tag)

    def end(tag: str) -> None:
        if tag == "si":
            # openpyxl drops the escape of a literal "_x" in shared strings; so do we.
            strings.append(item[0].content().replace("x005F_", ""))
            item[0] = None
        elif item[0] is not None:
            item[0].end(tag)

    def text(data: str) -> None:
        if item[0] is not None:
            item[0].text(data)

    _parse(archive, name, start, end, text)
    return strings


def _date_styles(archive: zipfile.ZipFile, name: str) -> tuple[set[int], set[int]]:
    """Indexes of the cell formats (cellXfs) that show dates, and of those showing durations."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    custom, formats, inside = {}, [], []

    def start(tag: str, attrs: dict) -> None:
        if tag == "numFmt":
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode")
        elif tag == "cellXfs":
            inside.append(tag)
        elif tag == "xf" and inside:
            formats.append(int(attrs.get("numFmtId") or 0))

    def end(tag: str) -> None:
        if tag == "cellXfs":
            inside.clear()

    _parse(archive, name, start, end)
    dates, durations = set(), set()
    for index, format_id in enumerate(formats):
        code = custom[format_id] if format_id in custom else BUILTIN_FORMATS.get(format_id)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations
