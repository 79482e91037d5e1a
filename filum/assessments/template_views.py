"""The template editor of a canton's integration office (A1, A2): its templates and their
versions; a draft version's sections, fields and code lists added, changed, reordered and
removed through forms; publishing it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.assessments import services
from filum.assessments.answers import load_structure
from filum.assessments.forms import (
    CodeListForm,
    FieldForm,
    ItemFormSet,
    PublishForm,
    SectionForm,
    TemplateCreateForm,
    kept_items,
)
from filum.assessments.models import (
    CodeList,
    TemplateField,
    TemplateSection,
    TemplateVersion,
)
from filum.assessments.permissions import (
    get_code_list_for_actor,
    get_field_for_actor,
    get_section_for_actor,
    get_template_for_actor,
    get_version_for_actor,
)
from filum.tenancy.policy import ActorRequest, requires
from filum.web.once import once_per_token

SECTION_FIELDS = ("key", "label_fr", "label_de", "help_fr", "help_de")
FIELD_FIELDS = (
    "key",
    "kind",
    "code_list",
    "required",
    "in_synthesis",
    "label_fr",
    "label_de",
    "help_fr",
    "help_de",
)
CODE_LIST_FIELDS = ("key", "label_fr", "label_de", "ordinal")


def _to_version(version: TemplateVersion) -> HttpResponse:
    return redirect("template_version", version_id=version.pk)


def _published(request: ActorRequest, version: TemplateVersion) -> HttpResponse | None:
    """A published version is read only: its edit pages lead back to it."""
    if version.is_draft:
        return None
    messages.info(request, _("A published version cannot be changed; make a new version."))
    return _to_version(version)


@requires("template.manage")
def template_list(request: ActorRequest) -> HttpResponse:
    canton = request.actor.organisation.canton
    templates = services.templates_of_canton(canton)
    return render(
        request,
        "assessments/templates/template_list.html",
        {"templates": templates, "canton": canton},
    )


@requires("template.manage")
@once_per_token
def template_create(request: ActorRequest) -> HttpResponse:
    form = TemplateCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.do_create_template(actor=request.actor, **form.cleaned_data)
        except services.ServiceError as exc:
            form.add_error("code", list(exc.args))
        else:
            messages.success(request, _("The template was made; its first version is a draft."))
            return redirect("template_detail", template_id=template.pk)
    return render(request, "assessments/templates/template_create.html", {"form": form})


@requires("template.manage")
def template_detail(request: ActorRequest, template_id: int) -> HttpResponse:
    template = get_template_for_actor(request=request, template_id=template_id)
    versions = list(
        template.versions.select_related("created_by", "published_by").order_by("-number")
    )
    return render(
        request,
        "assessments/templates/template_detail.html",
        {
            "template": template,
            "versions": versions,
            "has_draft": any(v.is_draft for v in versions),
        },
    )


@requires("template.manage")
@require_POST
def template_draft_create(request: ActorRequest, template_id: int) -> HttpResponse:
    template = get_template_for_actor(request=request, template_id=template_id)
    draft = services.do_create_draft(actor=request.actor, template=template)
    messages.success(
        request,
        _("Version %(number)s is a draft: change it, then publish it.") % {"number": draft.number},
    )
    return _to_version(draft)


@requires("template.manage")
def template_version(request: ActorRequest, version_id: int) -> HttpResponse:
    version = get_version_for_actor(request=request, version_id=version_id)
    structure = load_structure(version)
    code_lists = list(CodeList.objects.filter(version=version).order_by("key"))
    used_lists = {f.code_list_id for f in structure.all_fields()}
    return render(
        request,
        "assessments/templates/version.html",
        {
            "version": version,
            "template": version.template,
            "sections": [(s, structure.fields.get(s.pk, [])) for s in structure.sections],
            "code_lists": [
                (c, structure.items.get(c.pk, []), c.pk in used_lists) for c in code_lists
            ],
            "publish_form": PublishForm(),
            "problems": services.publication_problems(structure) if version.is_draft else [],
        },
    )


@requires("template.manage")
@require_POST
def template_publish(request: ActorRequest, version_id: int) -> HttpResponse:
    version = get_version_for_actor(request=request, version_id=version_id)
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            services.do_publish(
                actor=request.actor, version=version, note=form.cleaned_data["note"]
            )
        except services.ServiceError as exc:
            for problem in exc.args:
                messages.error(request, str(problem))
        else:
            messages.success(
                request,
                _("Version %(number)s is published: new assessments use it.")
                % {"number": version.number},
            )
    return _to_version(version)


@requires("template.manage")
@require_POST
def template_version_change(request: ActorRequest, version_id: int) -> HttpResponse:
    """Move a section or field up or down, or remove a section, a field or a code list."""
    version = get_version_for_actor(request=request, version_id=version_id)
    op = request.POST.get("op", "")
    target = request.POST.get("target", "")
    kinds: dict[str, Any] = {
        "section": TemplateSection,
        "field": TemplateField,
        "codelist": CodeList,
    }
    kind, _sep, action = op.partition(":")
    model = kinds.get(kind)
    obj = None
    if model is not None and target.isdigit() and action in ("up", "down", "remove"):
        obj = model.objects.filter(pk=int(target), version=version).first()
    if obj is None or (model is CodeList and action != "remove"):
        messages.error(request, _("This change is not possible."))
        return _to_version(version)
    try:
        if action == "remove":
            services.do_remove(version=version, obj=obj)
            messages.success(request, _("Removed."))
        else:
            services.do_move(version=version, obj=obj, up=action == "up")
    except services.ServiceError as exc:
        messages.error(request, str(exc.args[0]))
    return _to_version(version)


def _section_page(
    request: ActorRequest, version: TemplateVersion, section: TemplateSection | None
) -> HttpResponse:
    initial = {n: getattr(section, n) for n in SECTION_FIELDS} if section else {}
    form = SectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_save_section(version=version, section=section, data=form.cleaned_data)
        except services.ServiceError as exc:
            form.add_error("key", list(exc.args))
        else:
            messages.success(request, _("The section was saved."))
            return _to_version(version)
    return render(
        request,
        "assessments/templates/part_form.html",
        {
            "version": version,
            "form": form,
            "title": _("Edit the section") if section else _("Add a section"),
        },
    )


@requires("template.manage")
@once_per_token
def template_section_create(request: ActorRequest, version_id: int) -> HttpResponse:
    version = get_version_for_actor(request=request, version_id=version_id)
    return _published(request, version) or _section_page(request, version, None)


@requires("template.manage")
def template_section_edit(request: ActorRequest, section_id: int) -> HttpResponse:
    section = get_section_for_actor(request=request, section_id=section_id)
    version = section.version
    return _published(request, version) or _section_page(request, version, section)


def _field_page(
    request: ActorRequest,
    version: TemplateVersion,
    section: TemplateSection,
    template_field: TemplateField | None,
) -> HttpResponse:
    initial = {n: getattr(template_field, n) for n in FIELD_FIELDS} if template_field else {}
    form = FieldForm(request.POST or None, initial=initial, version=version)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_save_field(
                version=version,
                section=section,
                template_field=template_field,
                data=form.cleaned_data,
            )
        except services.ServiceError as exc:
            form.add_error(None, list(exc.args))
        else:
            messages.success(request, _("The field was saved."))
            return _to_version(version)
    title = _("Edit the field") if template_field else _("Add a field")
    return render(
        request,
        "assessments/templates/part_form.html",
        {"version": version, "form": form, "title": title, "section": section},
    )


@requires("template.manage")
@once_per_token
def template_field_create(request: ActorRequest, section_id: int) -> HttpResponse:
    section = get_section_for_actor(request=request, section_id=section_id)
    version = section.version
    return _published(request, version) or _field_page(request, version, section, None)


@requires("template.manage")
def template_field_edit(request: ActorRequest, field_id: int) -> HttpResponse:
    template_field = get_field_for_actor(request=request, field_id=field_id)
    version = template_field.version
    return _published(request, version) or _field_page(
        request, version, template_field.section, template_field
    )


def _code_list_page(
    request: ActorRequest, version: TemplateVersion, code_list: CodeList | None
) -> HttpResponse:
    initial = {n: getattr(code_list, n) for n in CODE_LIST_FIELDS} if code_list else {}
    form = CodeListForm(request.POST or None, initial=initial, prefix="list")
    items = (
        [
            {"code": i.code, "label_fr": i.label_fr, "label_de": i.label_de, "ORDER": n + 1}
            for n, i in enumerate(code_list.items.order_by("position", "id"))
        ]
        if code_list
        else []
    )
    formset = ItemFormSet(request.POST or None, initial=items, prefix="items")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.do_save_code_list(
                version=version,
                code_list=code_list,
                data=form.cleaned_data,
                items=kept_items(formset),
            )
        except services.ServiceError as exc:
            form.add_error(None, list(exc.args))
        else:
            messages.success(request, _("The code list was saved."))
            return _to_version(version)
    title = _("Edit the code list") if code_list else _("Add a code list")
    return render(
        request,
        "assessments/templates/code_list_form.html",
        {"version": version, "form": form, "formset": formset, "title": title},
    )


@requires("template.manage")
@once_per_token
def template_codelist_create(request: ActorRequest, version_id: int) -> HttpResponse:
    version = get_version_for_actor(request=request, version_id=version_id)
    return _published(request, version) or _code_list_page(request, version, None)


@requires("template.manage")
def template_codelist_edit(request: ActorRequest, codelist_id: int) -> HttpResponse:
    code_list = get_code_list_for_actor(request=request, codelist_id=codelist_id)
    version = code_list.version
    return _published(request, version) or _code_list_page(request, version, code_list)
