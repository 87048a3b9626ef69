"""Issue 14: what a new user meets in the first hour (forms, texts, names, small things).

The options form in sections that hide what cannot apply, the detector types offered,
reconfiguring a detector in place, each form's own texts, an abandoned setup, distinct
entity names, the manual room, diagnostics numbers and the development config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    _get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yaml

from custom_components.double_take.api.detectors import DETECTOR_TYPES, LocalDetector
from custom_components.double_take.config_flow import _frigate_schema
from custom_components.double_take.const import (
    CONF_API_KEY,
    CONF_DET_PROB_THRESHOLD,
    CONF_FRIGATE_URL,
    CONF_TYPE,
    CONF_UPSAMPLE,
    CONF_URL,
    DOMAIN,
    SUBENTRY_DETECTOR,
)
from custom_components.double_take.detector_config import (
    detector_kinds,
    detector_schema,
    detector_type_schema,
    local_detector_schema,
)
from custom_components.double_take.options import (
    DEFAULT_OPTIONS,
    NEEDS_CAMERAS,
    NEEDS_FRIGATE,
    NEEDS_MQTT,
    OPTIONS,
    SECTIONS,
    Settings,
    options_schema,
    sectioned,
)
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigSubentryData,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import NumberSelector

from .common import detector_subentry, make_entry, setup_detectors, setup_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

ROOT = Path(__file__).parent.parent
TRANSLATIONS = json.loads(
    (ROOT / "custom_components/double_take/translations/en.json").read_text()
)
SERVER_KINDS = [kind for kind in detector_kinds() if kind != LocalDetector.kind]


def local_subentry(**data: Any) -> ConfigSubentryData:
    """Subentry data of a local detector."""
    return ConfigSubentryData(
        data={CONF_TYPE: "local", **data},
        subentry_type=SUBENTRY_DETECTOR,
        title="Local (dlib)",
        unique_id="local",
    )


def fields(schema: vol.Schema) -> dict[str, Any]:
    """Return a flat form's fields by name (marker → its key)."""
    return {str(marker): marker for marker in schema.schema}


def sections_of(result_or_schema: Any) -> dict[str, section]:
    """Return a sectioned form's sections by name."""
    schema = (
        result_or_schema["data_schema"]
        if isinstance(result_or_schema, dict)
        else result_or_schema
    )
    return {str(marker): value for marker, value in schema.schema.items()}


def section_fields(result_or_schema: Any) -> dict[str, list[str]]:
    """Return each section's field names, in form order."""
    return {
        name: [str(marker) for marker in value.schema.schema]
        for name, value in sections_of(result_or_schema).items()
    }


# -- 2. the options form ----------------------------------------------------------------


def test_every_option_in_one_known_section() -> None:
    """``OPTIONS`` stays the one declaration: each option names a section of the form."""
    assert {spec.section for spec in OPTIONS} == set(SECTIONS)
    everything = section_fields(
        options_schema({}, {NEEDS_FRIGATE, NEEDS_CAMERAS, NEEDS_MQTT})
    )
    assert list(everything) == list(SECTIONS)
    names = [name for names in everything.values() for name in names]
    assert sorted(names) == sorted(DEFAULT_OPTIONS)  # each once
    collapsed = {
        name: value.options["collapsed"]
        for name, value in sections_of(
            options_schema({}, {NEEDS_FRIGATE, NEEDS_CAMERAS, NEEDS_MQTT})
        ).items()
    }
    assert collapsed == {
        "recognition": False,
        "frigate": False,
        "attempts": True,
        "storage": True,
        "mqtt": True,
        "presence": True,
    }


def test_sections_that_cannot_apply_are_hidden() -> None:
    """No Frigate: no Frigate sections, no sub label, no camera reset; no MQTT: no MQTT."""
    bare = section_fields(options_schema({}, set()))
    assert list(bare) == ["recognition", "storage", "presence"]
    assert bare["presence"] == ["presence_timeout"]
    shown = {name for names in bare.values() for name in names}
    assert "update_sub_label" not in shown
    assert "camera_reset" not in shown
    frigate_only = section_fields(options_schema({}, {NEEDS_FRIGATE, NEEDS_CAMERAS}))
    assert "mqtt" not in frigate_only
    assert "update_sub_label" in frigate_only["frigate"]
    assert frigate_only["presence"] == ["presence_timeout", "camera_reset"]
    assert "frigate" not in section_fields(options_schema({}, {NEEDS_MQTT}))
    # Camera sources without Frigate: their runs' and counts' options, no Frigate's.
    cameras_only = section_fields(options_schema({}, {NEEDS_CAMERAS}))
    assert cameras_only["attempts"] == ["stop_on_match", "processing"]
    assert cameras_only["presence"] == ["presence_timeout", "camera_reset"]
    assert "frigate" not in cameras_only


async def test_options_form_of_an_entry_without_frigate(hass: HomeAssistant) -> None:
    """Stored flat options (older floats, Frigate ones) show and survive a save."""
    stored = {
        "confidence": 60.0,
        "min_face_area": 2500.0,
        "snapshot_attempts": 3.0,  # hidden here: kept as stored (then as an int)
        "update_sub_label": True,
        "retired_option": "kept",
    }
    entry = make_entry(options=stored)
    entry.add_to_hass(hass)
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert list(sections_of(result)) == ["recognition", "storage", "presence"]
        recognition = sections_of(result)["recognition"].schema.schema
        shown = {
            str(marker): marker.description["suggested_value"] for marker in recognition
        }
        assert shown == {
            "confidence": 60.0,
            "unknown_confidence": 40,
            "min_face_area": 2500.0,
            "unknown_min_face_area": 0,
            "min_margin": 0,
            "min_detectors_agree": 1,
        }
        answer = {
            "recognition": {**shown, "confidence": 70.0},
            "storage": sectioned(DEFAULT_OPTIONS)["storage"],
            "presence": {"presence_timeout": 120.0},
        }
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], answer
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        "confidence": 70.0,
        "unknown_confidence": 40,
        "min_face_area": 2500,
        "unknown_min_face_area": 0,
        "min_margin": 0,
        "min_detectors_agree": 1,
        "snapshot_attempts": 3,
        "update_sub_label": True,
        "retired_option": "kept",
        "save_unknown": False,
        "purge_matches_hours": 48,
        "purge_unknown_hours": 48,
        "presence_timeout": 120.0,
    }
    settings = Settings.from_options(entry.options)
    assert settings.snapshot_attempts == 3
    assert settings.presence_timeout == 120.0


async def test_options_mqtt_section_follows_the_mqtt_integration(
    hass: HomeAssistant,
) -> None:
    """The MQTT section appears once Home Assistant's MQTT integration is set up."""
    entry = make_entry(frigate_url="http://frigate:5000")
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "mqtt" not in sections_of(result)
    assert "frigate" in sections_of(result)
    MockConfigEntry(domain="mqtt").add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "mqtt" in sections_of(result)


def test_every_option_has_plain_texts() -> None:
    """Every section has a name and description, every field a label and a help text."""
    texts = TRANSLATIONS["options"]["step"]["init"]["sections"]
    schema = options_schema({}, {NEEDS_FRIGATE, NEEDS_CAMERAS, NEEDS_MQTT})
    for name, names in section_fields(schema).items():
        assert texts[name]["name"]
        assert texts[name]["description"]
        assert set(texts[name]["data"]) == set(names)
        assert set(texts[name]["data_description"]) == set(names)
    assert "Unknown below" not in json.dumps(texts)
    # A number's help says its unit (as its selector shows it) and its default.
    helps = {
        key: help_
        for text in texts.values()
        for key, help_ in text["data_description"].items()
    }
    for spec in OPTIONS:
        if isinstance(spec.selector, NumberSelector):
            unit = spec.selector.config.get("unit_of_measurement", "")
            assert unit in helps[spec.key], spec.key
            assert "Default" in helps[spec.key] or "0:" in helps[spec.key], spec.key


# -- 3. adding a detector ---------------------------------------------------------------


async def test_add_detector_offers_what_can_be_added(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """With a local detector, Local is not offered; the form says why."""
    entry = make_entry(
        detectors=[
            detector_subentry("deepstack", deepstack.url),
            local_subentry(),
        ]
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    assert result["data_schema"].schema[CONF_TYPE].config["options"] == SERVER_KINDS
    with pytest.raises(vol.Invalid):
        result["data_schema"]({CONF_TYPE: "local"})
    step = TRANSLATIONS["config_subentries"]["detector"]["step"]["user"]
    assert "One local detector per entry" in step["description"]


async def test_local_added_meanwhile_aborts(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """Two add forms open; the second to submit Local is told it is already there."""
    entry = make_entry(detectors=[detector_subentry("deepstack", deepstack.url)])
    entry.add_to_hass(hass)
    manager = hass.config_entries.subentries
    first = await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    second = await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    with (
        patch("custom_components.double_take.config_flow.async_process_requirements"),
        patch.object(LocalDetector, "check"),
    ):
        result = await manager.async_configure(first["flow_id"], {CONF_TYPE: "local"})
        result = await manager.async_configure(result["flow_id"], {})
        await hass.async_block_till_done()
        result = await manager.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    result = await manager.async_configure(second["flow_id"], {CONF_TYPE: "local"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- 4. reconfiguring a detector --------------------------------------------------------


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_reconfigure_goes_to_the_detectors_own_form(
    hass: HomeAssistant, kind: str
) -> None:
    """No type list: the server's own form, pre-filled, same type."""
    entry = make_entry(detectors=[detector_subentry(kind, "http://server:1234")])
    entry.add_to_hass(hass)
    (subentry,) = entry.subentries.values()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == kind
    url = next(m for m in result["data_schema"].schema if m == CONF_URL)
    assert url.description == {"suggested_value": "http://server:1234"}
    assert CONF_TYPE not in fields(result["data_schema"])


async def test_reconfigure_local_installs_nothing(hass: HomeAssistant) -> None:
    """The local detector's settings form: no install text, no install step."""
    entry = make_entry(detectors=[local_subentry(**{CONF_UPSAMPLE: 0})])
    entry.add_to_hass(hass)
    (subentry,) = entry.subentries.values()
    install = AsyncMock()
    with (
        patch(
            "custom_components.double_take.config_flow.async_process_requirements",
            install,
        ),
        patch("custom_components.double_take.async_setup_entry", return_value=True),
    ):
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_DETECTOR),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
        )
        assert result["step_id"] == "reconfigure_local"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_UPSAMPLE: 2.0}
        )
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data[CONF_UPSAMPLE] == 2
    install.assert_not_called()
    text = TRANSLATIONS["config_subentries"]["detector"]["step"]["reconfigure_local"]
    assert "130 MB" not in json.dumps(text)
    assert "already installed" in text["description"]


async def test_reconfigure_unknown_type_aborts(hass: HomeAssistant) -> None:
    """A type this version does not know cannot be edited, only deleted."""
    entry = make_entry(detectors=[detector_subentry("retired", "http://old:1")])
    entry.add_to_hass(hass)
    (subentry,) = entry.subentries.values()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unsupported_type"
    assert result["description_placeholders"] == {"type": "retired"}
    abort = TRANSLATIONS["config_subentries"]["detector"]["abort"]
    assert "{type}" in abort["unsupported_type"]


# -- 5. each form says what applies to it -----------------------------------------------


def test_first_step_says_frigate_and_mqtt_are_optional() -> None:
    """Step 1 is not "Connect to Frigate"; its password help is not about reconfiguring."""
    step = TRANSLATIONS["config"]["step"]["user"]
    assert step["title"] != "Connect to Frigate"
    assert "optional" in step["description"]
    assert "MQTT" in step["description"]
    assert "reconfigur" not in step["data_description"]["frigate_password"].lower()
    reconfigure = TRANSLATIONS["config"]["step"]["reconfigure"]
    assert "keep the stored" in reconfigure["data_description"]["frigate_password"]


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_each_server_form_has_its_own_fields_and_texts(kind: str) -> None:
    """The API key: required for CompreFace, optional for DeepStack, absent otherwise."""
    form = fields(detector_schema(kind, []))
    api_key = form.get(CONF_API_KEY)
    if kind == "compreface":
        assert isinstance(api_key, vol.Required)
        assert CONF_DET_PROB_THRESHOLD in form
    elif kind == "deepstack":
        assert isinstance(api_key, vol.Optional)
        assert CONF_DET_PROB_THRESHOLD not in form
    else:
        assert api_key is None
        assert CONF_DET_PROB_THRESHOLD not in form
    title = DETECTOR_TYPES[kind].title
    helps = []
    for flow in (
        TRANSLATIONS["config"],
        TRANSLATIONS["config_subentries"]["detector"],
    ):
        step = flow["step"][kind]
        assert title in step["title"]
        assert set(step["data"]) == set(form)
        assert set(step["data_description"]) == set(form)
        helps.append(step["data_description"]["url"])
    # Only this server's address in its help (no list of every type's port).
    assert all(title.split(".")[0] in help_ for help_ in helps)
    others = [DETECTOR_TYPES[k].title for k in SERVER_KINDS if k != kind]
    assert not any(other in helps[0] for other in others)


def test_every_form_step_has_texts() -> None:
    """Each form step of the flows has a title and a label and help for every field."""
    config = TRANSLATIONS["config"]["step"]
    subentry = TRANSLATIONS["config_subentries"]["detector"]["step"]
    forms = [
        (config, "user", _frigate_schema({})),
        (config, "reconfigure", _frigate_schema({})),
        (config, "detector", detector_type_schema(detector_kinds())),
        (config, "local", local_detector_schema([])),
        (subentry, "user", detector_type_schema(detector_kinds())),
        (subentry, "local", local_detector_schema([])),
        (subentry, "reconfigure_local", local_detector_schema([])),
    ]
    for steps, step_id, schema in forms:
        step = steps[step_id]
        assert step["title"], step_id
        assert set(step["data"]) == set(fields(schema)), step_id
        assert set(step["data_description"]) == set(fields(schema)), step_id
    for steps in (config, subentry):
        assert "130 MB" in steps["local"]["description"]
        assert steps["install"]["description"]


# -- 6. an abandoned setup --------------------------------------------------------------


async def test_abandoned_setup_does_not_block_the_next(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """A flow left after step 1 does not make the next one abort "in progress"."""
    flow = hass.config_entries.flow
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        abandoned = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        abandoned = await flow.async_configure(abandoned["flow_id"], {})
        assert abandoned["step_id"] == "detector"

        result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await flow.async_configure(result["flow_id"], {})
        assert result["step_id"] == "detector"
        result = await flow.async_configure(result["flow_id"], {CONF_TYPE: "deepstack"})
        result = await flow.async_configure(
            result["flow_id"], {CONF_URL: deepstack.url}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == "no_frigate"

        # Now there is such an entry: a new flow stops at step 1 ...
        again = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        again = await flow.async_configure(again["flow_id"], {})
        assert again["type"] is FlowResultType.ABORT
        assert again["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_abandoned_flow_finished_later_aborts(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """The unique id is checked again when the entry is created."""
    flow = hass.config_entries.flow
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        old = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        old = await flow.async_configure(old["flow_id"], {})
        old = await flow.async_configure(old["flow_id"], {CONF_TYPE: "deepstack"})
        make_entry().add_to_hass(hass)  # set up meanwhile, e.g. in another tab
        result = await flow.async_configure(old["flow_id"], {CONF_URL: deepstack.url})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_abandoned_flow_with_frigate_does_not_block(
    hass: HomeAssistant, frigate: FrigateEmulator
) -> None:
    """The same holds with a Frigate URL."""
    flow = hass.config_entries.flow
    for _ in range(2):
        result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await flow.async_configure(
            result["flow_id"], {CONF_FRIGATE_URL: frigate.url}
        )
        assert result["step_id"] == "detector"


# -- 7. entity names --------------------------------------------------------------------


async def test_person_entities_have_distinct_names(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """The sensor keeps the original's id and the device's name; the image is "Last face"."""
    compreface.subjects["alice"] = ["alice"]
    await setup_detectors(hass, compreface)
    sensor = hass.states.get("sensor.double_take_alice")
    image = hass.states.get("image.double_take_alice_last_face")
    assert sensor.attributes["friendly_name"] == "Double Take alice"
    assert image.attributes["friendly_name"] == "Double Take alice Last face"
    unknown = hass.states.get("image.double_take_unknown_last_face")
    assert unknown.attributes["friendly_name"] == "Double Take unknown Last face"
    names = [
        state.attributes["friendly_name"]
        for state in hass.states.async_all()
        if state.entity_id.split(".")[1].startswith("double_take_alice")
    ]
    assert len(names) == len(set(names)) >= 4
    assert TRANSLATIONS["entity"]["image"]["person"]["name"] == "Last face"


async def test_existing_install_keeps_its_image_entity_id(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """An image entity registered before keeps ``image.double_take_NAME``."""
    compreface.subjects["alice"] = ["alice"]
    entry = make_entry(
        detectors=[
            detector_subentry("compreface", compreface.url, api_key=compreface.api_key)
        ]
    )
    er.async_get(hass).async_get_or_create(
        "image",
        DOMAIN,
        f"{entry.entry_id}:image:alice",
        suggested_object_id="double_take_alice",
    )
    await setup_entry(hass, entry)
    assert hass.states.get("image.double_take_alice") is not None
    assert hass.states.get("image.double_take_alice_last_face") is None


# -- 9. small things --------------------------------------------------------------------


async def test_manual_run_has_no_room(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """The default camera name "double-take" is not made into a room; a given room stays."""
    compreface.subjects["alice"] = ["alice"]
    await setup_detectors(hass, compreface)
    image = Path(hass.config.path("www", "visitor.jpg"))
    image.parent.mkdir(parents=True)
    image.write_bytes(face_world.image(FaceSpec("alice", (200, 100, 150, 180))))
    hass.config.allowlist_external_dirs = {str(image.parent)}

    async def recognize(**data: Any) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "recognize",
            {"image_path": str(image), **data},
            blocking=True,
            return_response=True,
        )

    assert (await recognize())["room"] == ""
    assert (await recognize(room="Hall"))["room"] == "Hall"
    assert (await recognize(camera="front_door"))["room"] == "Front Door"


async def test_diagnostics_show_counts_as_ints(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
) -> None:
    """Options stored as floats by the number selectors show as ``Settings`` reads them."""
    entry = await setup_entry(
        hass,
        make_entry(
            options={
                "snapshot_attempts": 10.0,
                "min_face_area": 2500.0,
                "confidence": 60.0,
                "processing": "serial",
            }
        ),
    )
    data = (await _get_diagnostics_for_config_entry(hass, hass_client, entry))["data"]
    options = data["entry"]["options"]
    assert options == {
        "snapshot_attempts": 10,
        "min_face_area": 2500,
        "confidence": 60.0,
        "processing": "serial",
    }
    assert isinstance(options["snapshot_attempts"], int)
    assert '"snapshot_attempts": 10,' in json.dumps(options)


def test_dev_config_has_no_http_block() -> None:
    """An ``http:`` block raises "HTTP YAML configuration is ignored" once migrated."""
    config = yaml.safe_load((ROOT / "config" / "configuration.yaml").read_text())
    assert "http" not in config
    # What the http integration is loaded for is still there.
    assert {"api", "frontend"} <= set(config)
