"""The portal's Suppressions page: search, add, remove, CSV import and export."""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from delivery import suppressions
from delivery.choices import SuppressionReason, SuppressionScope
from delivery.models import Suppression
from delivery.permissions import ADD_SUPPRESSIONS, REMOVE_SUPPRESSIONS, VIEW_SUPPRESSIONS
from notifuse_smtp.addresses import AddressError

PAGE_SIZE = 50
EXPORT_COLUMNS = ("address", "reason", "scope", "created_at", "created_by", "note")
# An import larger than this is refused with a message (the request would run for minutes).
MAX_IMPORT_ROWS = 200_000


class AddForm(forms.Form):
    address = forms.CharField(max_length=320)
    scope = forms.ChoiceField(choices=SuppressionScope.choices, initial=SuppressionScope.ALL)
    note = forms.CharField(max_length=500, required=False)

    def clean_address(self) -> str:
        try:
            return suppressions.parse(self.cleaned_data["address"])
        except (AddressError, UnicodeError) as exc:
            raise forms.ValidationError(str(exc)) from None


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with an address column (scope and note "
                           "optional), or one address a line.")
    scope = forms.ChoiceField(choices=SuppressionScope.choices, initial=SuppressionScope.ALL,
                              help_text="For rows that name none.")


@staff_member_required
@permission_required(VIEW_SUPPRESSIONS, raise_exception=True)
def suppression_list(request: HttpRequest) -> HttpResponse:
    entries = Suppression.objects.select_related("message").order_by("-created_at", "-pk")
    term = request.GET.get("q", "").strip()
    reason = request.GET.get("reason", "")
    if term:
        entries = entries.filter(address__icontains=term.lower())
    if reason in SuppressionReason.values:
        entries = entries.filter(reason=reason)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/suppressions.html", {
        "page": page, "q": term, "reason": reason, "reasons": SuppressionReason.choices,
        "add_form": AddForm(), "import_form": ImportForm(), "section": "suppressions",
        "total": Suppression.objects.count(),
    })


@staff_member_required
@permission_required(ADD_SUPPRESSIONS, raise_exception=True)
@require_POST
def add_suppression(request: HttpRequest) -> HttpResponse:
    form = AddForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Not added: " + "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        return redirect("portal:suppressions")
    data = form.cleaned_data
    added = suppressions.suppress(data["address"], SuppressionReason.MANUAL, scope=data["scope"],
                                  by=request.user.get_username(), note=data["note"])
    if added is None:
        flash.warning(request, f"{data['address']} was already suppressed.")
    else:
        flash.success(request, f"{added.address} is suppressed ({added.get_scope_display()}).")
    return redirect("portal:suppressions")


@staff_member_required
@permission_required(REMOVE_SUPPRESSIONS, raise_exception=True)
@require_POST
def remove_suppression(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(Suppression, pk=pk)
    suppressions.remove(entry.address)
    flash.success(request, f"{entry.address} is no longer suppressed: mail goes to it again.")
    return redirect("portal:suppressions")


@staff_member_required
@permission_required(ADD_SUPPRESSIONS, raise_exception=True)
@require_POST
def import_suppressions(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        flash.error(request, "Choose a CSV file to import.")
        return redirect("portal:suppressions")
    text = form.cleaned_data["file"].read().decode("utf-8-sig", errors="replace")
    rows = _import_rows(text)
    if len(rows) > MAX_IMPORT_ROWS:
        flash.error(request, f"{len(rows)} rows is over the limit of {MAX_IMPORT_ROWS}.")
        return redirect("portal:suppressions")
    added, skipped = _import(rows, form.cleaned_data["scope"], request.user.get_username())
    flash.success(request, f"Imported {added} address(es); {len(skipped)} skipped"
                  + (f" (not addresses: {', '.join(skipped[:5])})" if skipped else "") + ".")
    return redirect("portal:suppressions")


def _import_rows(text: str) -> list[dict]:
    first = text.splitlines()[0] if text.strip() else ""
    if "address" not in first.lower():
        return [{"address": line.strip()} for line in text.splitlines() if line.strip()]
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            for row in reader]


def _import(rows: list[dict], default_scope: str, by: str) -> tuple[int, list[str]]:
    added, skipped = 0, []
    for row in rows:
        scope = row.get("scope") if row.get("scope") in SuppressionScope.values else default_scope
        try:
            address = suppressions.parse(row.get("address", ""))
        except (AddressError, UnicodeError):
            skipped.append(row.get("address", "")[:80])
            continue
        if suppressions.suppress(address, SuppressionReason.MANUAL, scope=scope, by=by,
                                 note=row.get("note", "") or "imported"):
            added += 1
    return added, skipped


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_member_required
@permission_required(VIEW_SUPPRESSIONS, raise_exception=True)
def export_suppressions(request: HttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="suppressions.csv"'
    return response


def _csv_lines():
    """The list as CSV, a row at a time: a list of millions never sits in memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    rows = Suppression.objects.order_by("address").values_list(*EXPORT_COLUMNS)
    for row in rows.iterator(chunk_size=5000):
        yield writer.writerow(["" if value is None else str(value) for value in row])
