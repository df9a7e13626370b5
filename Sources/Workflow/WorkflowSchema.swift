import Foundation
import NodeKit

/// A JSON Schema (draft-07) for workflow files, generated from the node registry so that it
/// always matches what the validator accepts. Editors (VS Code's YAML extension) use it to
/// complete node kinds and ports and to show their documentation.
public enum WorkflowSchema {
    public static func json(for registry: NodeRegistry) -> String {
        let data = try! JSONSerialization.data(
            withJSONObject: schema(for: registry),
            options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// References (`$node.port`), templates and expressions are strings wherever a value goes.
    private static var dynamic: [String: Any] {
        [
            "type": "string", "pattern": "[$]|[{]",
            "description": "a reference ($param, $node.port), a template ({stem}) or an expression (${…})",
        ]
    }

    /// `when:`, an expression that is true or false per item.
    private static var condition: [String: Any] {
        [
            "anyOf": [["type": "boolean"], dynamic],
            "description": "the node runs only where this is true, e.g. ${$photo.width >= 1000}",
        ]
    }

    /// `otherwise:`, what the outputs are where `when` is false.
    private static var otherwise: [String: Any] {
        [
            "type": "object",
            "description":
                "each output's value where 'when' is false; nodes reading an output without one are left out too",
        ]
    }

    private static func valueSchema(_ port: PortSpec) -> [String: Any] {
        var literal: [String: Any]
        switch port.type {
        case .number: literal = ["type": "number"]
        case .integer: literal = ["type": "integer"]
        case .bool: literal = ["type": "boolean"]
        case .string, .path: literal = ["type": "string"]
        case .strings:
            return [
                "anyOf": [["type": "array", "items": ["type": ["string", "number", "integer", "boolean"]]], dynamic],
                "description": "\(port.type): \(port.doc)",
            ]
        case .image, .mask, .delta, .images:
            return ["type": "string", "pattern": "^[$]", "description": "\(port.type): \(port.doc)"]
        }
        if let range = port.range {
            if range.lowerBound.isFinite { literal["minimum"] = range.lowerBound }
            if range.upperBound.isFinite { literal["maximum"] = range.upperBound }
        }
        if let choices = port.choices { literal = ["enum": choices] }
        return ["anyOf": [literal, dynamic], "description": "\(port.type): \(port.doc)"]
    }

    static func schema(for registry: NodeRegistry) -> [String: Any] {
        let kinds = registry.descriptors
        let perKind: [[String: Any]] = kinds.map { descriptor in
            var properties: [String: Any] = ["node": ["const": descriptor.kind]]
            properties["when"] = condition
            properties["otherwise"] = otherwise
            for port in descriptor.inputs { properties[port.name] = valueSchema(port) }
            if descriptor.iterationInput != nil {
                properties["each"] = [
                    "type": "string", "description": "directory to iterate: the node runs once per matching file",
                ]
                properties["pattern"] = [
                    "anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]],
                    "description": "glob(s) matched against file names, e.g. \"*.{jpg,png}\"",
                ]
                properties["recursive"] = ["type": "boolean", "description": "also iterate subdirectories"]
                properties["match"] = [
                    "type": "string",
                    "description":
                        "the iterating node whose files these pair with, by relative path without extension (masks beside photos)",
                ]
                properties["unmatched"] = [
                    "enum": WorkflowNode.Unmatched.allCases.map(\.rawValue),
                    "description":
                        "a file without a partner: error (refuse the run, listing them), skip (leave it out), optional (run without this node)",
                ]
            }
            let required = descriptor.inputs.filter { $0.isRequired && $0.name != descriptor.iterationInput }.map(
                \.name)
            return [
                "if": ["properties": ["node": ["const": descriptor.kind]], "required": ["node"]],
                "then": ["properties": properties, "required": required, "additionalProperties": false],
            ]
        }
        let node: [String: Any] = [
            "type": "object",
            "oneOf": [["required": ["node"]], ["required": ["workflow"], "not": ["required": ["node"]]]],
            "properties": [
                "node": [
                    "enum": kinds.map(\.kind),
                    "description": kinds.map { "\($0.kind): \($0.summary)" }.joined(separator: "\n"),
                ],
                "workflow": [
                    "type": "string",
                    "description":
                        "a workflow file used as this node, relative to this file: its params are the node's inputs, its outputs the node's outputs",
                ],
                "when": condition,
                "otherwise": otherwise,
            ],
            "allOf": perKind,
        ]
        let output: [String: Any] = [
            "anyOf": [
                ["type": "string", "pattern": "^[$]"],
                [
                    "type": "object", "required": ["from"], "additionalProperties": false,
                    "properties": ["from": ["type": "string", "pattern": "^[$]"], "doc": ["type": "string"]],
                ],
            ],
            "description": "a node output ($node.port) handed on to a workflow that uses this one as a node",
        ]
        let param: [String: Any] = [
            "type": "object",
            "required": ["type"],
            "additionalProperties": false,
            "properties": [
                "type": ["enum": Workflow.paramTypes],
                "default": ["description": "the value when --set does not give one"],
                "min": ["type": "number"], "max": ["type": "number"],
                "choices": ["type": "array", "items": ["type": "string"]],
                "doc": ["type": "string"],
            ],
        ]
        return [
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "deltaflow workflow",
            "type": "object",
            "required": ["version", "nodes"],
            "additionalProperties": false,
            "properties": [
                "version": ["const": Workflow.supportedVersion],
                "name": ["type": "string"],
                "description": ["type": "string"],
                "seed": ["type": "integer", "minimum": 0, "description": "base of every random seed in the run"],
                "plugins": [
                    "type": "array", "items": ["type": "string"],
                    "description": "plugin libraries: paths relative to this file, or names on the plugin search path",
                ],
                "writes": [
                    "type": "array", "items": ["type": "string"],
                    "description":
                        "folders inside this file's folder that the workflow writes, besides the directories its user names",
                ],
                "params": ["type": "object", "additionalProperties": ["$ref": "#/definitions/param"]],
                "nodes": ["type": "object", "additionalProperties": ["$ref": "#/definitions/node"]],
                "outputs": ["type": "object", "additionalProperties": output],
            ],
            "definitions": ["param": param, "node": node],
        ]
    }
}
