"""JSON Schema of the rendered IoT Edge deployment (schemas/edge-deployment.json).

Written from the IoT Edge deployment-manifest format: an IoT Hub configuration with
modulesContent.$edgeAgent / $edgeHub desired properties, in the full (base) form or the
layered form of `properties.desired.modules.<name>` / `properties.desired.routes.<name>` paths.
"""

from __future__ import annotations

from .. import schemas

NAME = "edge-deployment"
_MODULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _settings() -> dict:
    chunk = {"type": "string", "maxLength": 512}
    props = {"image": {"type": "string", "minLength": 1}, "createOptions": chunk}
    props.update({f"createOptions{i:02d}": chunk for i in range(1, 8)})
    return {"type": "object", "required": ["image"], "properties": props, "additionalProperties": False}


def _env() -> dict:
    return {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["value"],
            "additionalProperties": False,
            "properties": {"value": {"type": ["string", "number", "boolean"]}},
        },
    }


def _module(required: tuple[str, ...] = ("version", "type", "status", "restartPolicy", "settings")) -> dict:
    return {
        "type": "object",
        "required": list(required),
        "additionalProperties": False,
        "properties": {
            "version": {"type": "string"},
            "type": {"const": "docker"},
            "status": {"enum": ["running", "stopped"]},
            "restartPolicy": {"enum": ["never", "on-failure", "on-unhealthy", "always"]},
            "imagePullPolicy": {"enum": ["on-create", "never"]},
            "startupOrder": {"type": "integer", "minimum": 0},
            "settings": {"$ref": "#/$defs/settings"},
            "env": {"$ref": "#/$defs/env"},
        },
    }


def _route() -> dict:
    return {
        "oneOf": [
            {"type": "string", "pattern": "^FROM .+ INTO .+$"},
            {
                "type": "object",
                "required": ["route"],
                "additionalProperties": False,
                "properties": {
                    "route": {"type": "string", "pattern": "^FROM .+ INTO .+$"},
                    "priority": {"type": "integer", "minimum": 0, "maximum": 9},
                    "timeToLiveSecs": {"type": "integer", "minimum": 0},
                },
            },
        ]
    }


def generate() -> dict:
    agent_full = {
        "type": "object",
        "required": ["properties.desired"],
        "additionalProperties": False,
        "properties": {
            "properties.desired": {
                "type": "object",
                "additionalProperties": False,
                "required": ["schemaVersion", "runtime", "systemModules", "modules"],
                "properties": {
                    "schemaVersion": {"enum": ["1.0", "1.1"]},
                    "runtime": {
                        "type": "object",
                        "required": ["type", "settings"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "docker"},
                            "settings": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "minDockerVersion": {"type": "string"},
                                    "loggingOptions": {"type": "string"},
                                    "registryCredentials": {
                                        "type": "object",
                                        "additionalProperties": {
                                            "type": "object",
                                            "required": ["address", "username", "password"],
                                            "additionalProperties": False,
                                            "properties": {
                                                "address": {"type": "string"},
                                                # by reference only: a secret reference, never a literal credential
                                                "username": {"type": "string", "pattern": r"^\$secret:"},
                                                "password": {"type": "string", "pattern": r"^\$secret:"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "systemModules": {
                        "type": "object",
                        "required": ["edgeAgent", "edgeHub"],
                        "additionalProperties": False,
                        "properties": {
                            "edgeAgent": _module(("type", "settings")),
                            "edgeHub": _module(("type", "status", "restartPolicy", "settings")),
                        },
                    },
                    "modules": {
                        "type": "object",
                        "propertyNames": {"pattern": _MODULE_NAME},
                        "additionalProperties": {"$ref": "#/$defs/module"},
                    },
                },
            }
        },
    }
    agent_layered = {  # IoT Edge requires $edgeAgent in a layered deployment, even empty
        "type": "object",
        "propertyNames": {"pattern": r"^properties\.desired\.modules\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
        "additionalProperties": {"$ref": "#/$defs/module"},
    }
    hub_full = {
        "type": "object",
        "required": ["properties.desired"],
        "additionalProperties": False,
        "properties": {
            "properties.desired": {
                "type": "object",
                "required": ["schemaVersion", "routes", "storeAndForwardConfiguration"],
                "additionalProperties": False,
                "properties": {
                    "schemaVersion": {"enum": ["1.0", "1.1"]},
                    "routes": {"type": "object", "additionalProperties": {"$ref": "#/$defs/route"}},
                    "storeAndForwardConfiguration": {
                        "type": "object",
                        "required": ["timeToLiveSecs"],
                        "properties": {"timeToLiveSecs": {"type": "integer", "minimum": 0}},
                    },
                },
            }
        },
    }
    hub_layered = {
        "type": "object",
        "propertyNames": {"pattern": r"^properties\.desired\.routes\.[A-Za-z0-9_-]+$"},
        "additionalProperties": {"$ref": "#/$defs/route"},
    }
    schema = {
        "type": "object",
        "required": ["id", "targetCondition", "priority", "content"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": r"^[a-z0-9-:+%_#*?!(),=@;$']{1,128}$"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "targetCondition": {"type": "string", "minLength": 1},
            "priority": {"type": "integer", "minimum": 0},
            "content": {
                "type": "object",
                "required": ["modulesContent"],
                "additionalProperties": False,
                "properties": {
                    "modulesContent": {
                        "type": "object",
                        "required": ["$edgeAgent", "$edgeHub"],
                        "properties": {
                            "$edgeAgent": {"oneOf": [agent_full, agent_layered]},
                            "$edgeHub": {"oneOf": [hub_full, hub_layered]},
                        },
                        # the desired properties of the other module twins (full or layered form)
                        "patternProperties": {
                            _MODULE_NAME: {
                                "type": "object",
                                "propertyNames": {"pattern": r"^properties\.desired(\..+)?$"},
                            }
                        },
                        "additionalProperties": False,
                    }
                },
            },
        },
        "$defs": {"settings": _settings(), "env": _env(), "module": _module(), "route": _route()},
    }
    return {
        "$schema": schemas.DRAFT,
        "$id": f"{schemas.SCHEMA_BASE_ID}{NAME}.json",
        "title": "IoT Edge deployment rendered by modelctl",
        **schema,
    }


schemas.register(NAME, generate)
