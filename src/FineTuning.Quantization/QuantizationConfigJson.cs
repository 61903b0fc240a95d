using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// A layer's quantization as a transformers-style <c>quantization_config</c> object. NF4 / FP4 use the keys of
/// transformers' <c>BitsAndBytesConfig</c> (<c>quant_method: "bitsandbytes"</c>, <c>load_in_4bit</c>,
/// <c>bnb_4bit_quant_type</c>, <c>bnb_4bit_use_double_quant</c>, <c>bnb_4bit_compute_dtype</c>,
/// <c>bnb_4bit_quant_storage</c>) plus <c>blocksize</c> (bitsandbytes fixes it at 64; ours is configurable).
/// INT8 absmax blocks are ours: <c>quant_method: "finetuning"</c>, <c>quant_type: "int8"</c>, <c>use_double_quant</c>,
/// <c>compute_dtype</c>, <c>blocksize</c>.
/// </summary>
internal sealed record QuantizationConfigJson(QuantizationType Type, int BlockSize, bool DoubleQuantization, ScalarType? ComputeDType)
{
    public JsonObject ToJson()
    {
        string? compute = ComputeDType is { } d ? QuantStateJson.DTypeName(d) : null;
        if (Type.BitsPerValue == 4)
        {
            return new JsonObject
            {
                ["quant_method"] = "bitsandbytes",
                ["load_in_4bit"] = true,
                ["bnb_4bit_quant_type"] = Type.Name,
                ["bnb_4bit_use_double_quant"] = DoubleQuantization,
                ["bnb_4bit_compute_dtype"] = compute,
                ["bnb_4bit_quant_storage"] = "uint8",
                ["blocksize"] = BlockSize,
            };
        }
        return new JsonObject
        {
            ["quant_method"] = "finetuning",
            ["quant_type"] = Type.Name,
            ["use_double_quant"] = DoubleQuantization,
            ["compute_dtype"] = compute,
            ["blocksize"] = BlockSize,
        };
    }

    /// <summary>Reads an object written by <see cref="ToJson"/>; null and the reason when it is not one this library can use.</summary>
    public static QuantizationConfigJson? Parse(JsonObject o, out string? problem)
    {
        problem = null;
        try
        {
            string method = Required(o, "quant_method").GetValue<string>();
            bool bnb = method switch
            {
                "bitsandbytes" => true,
                "finetuning" => false,
                _ => throw new FormatException($"quant_method \"{method}\" is not supported (expected \"bitsandbytes\" or \"finetuning\")"),
            };
            if (bnb && o["load_in_4bit"]?.GetValue<bool>() != true)
                throw new FormatException("only 4-bit bitsandbytes configs (load_in_4bit: true) are supported; bitsandbytes' 8-bit layers are not");
            string typeName = Required(o, bnb ? "bnb_4bit_quant_type" : "quant_type").GetValue<string>();
            QuantizationType type = QuantizationType.FromName(typeName) is { } t && (t.BitsPerValue == 4) == bnb
                ? t
                : throw new FormatException($"quant type \"{typeName}\" is not one of {(bnb ? "nf4, fp4" : "int8")}");
            bool doubleQuantization = Required(o, bnb ? "bnb_4bit_use_double_quant" : "use_double_quant").GetValue<bool>();
            int blockSize = o["blocksize"]?.GetValue<int>() ?? 64;
            if (blockSize < 32 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
                throw new FormatException($"blocksize {blockSize} is not a power of two from 32 to 4096");
            string? computeName = o[bnb ? "bnb_4bit_compute_dtype" : "compute_dtype"]?.GetValue<string>();
            ScalarType? compute = computeName is null ? null
                : QuantStateJson.ParseDType(computeName) ?? throw new FormatException($"compute dtype \"{computeName}\" is not float32, bfloat16, float16 or float64");
            return new QuantizationConfigJson(type, blockSize, doubleQuantization, compute);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException or JsonException)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>Null when <paramref name="other"/> stores weights as this does (compute dtype aside); else the difference.</summary>
    public string? StorageDifference(QuantizationConfigJson other)
    {
        var differences = new List<string>();
        if (other.Type != Type) differences.Add($"type {other.Type.Name} instead of {Type.Name}");
        if (other.BlockSize != BlockSize) differences.Add($"block size {other.BlockSize} instead of {BlockSize}");
        if (other.DoubleQuantization != DoubleQuantization) differences.Add($"double quantization {(other.DoubleQuantization ? "on" : "off")} instead of {(DoubleQuantization ? "on" : "off")}");
        return differences.Count == 0 ? null : string.Join(", ", differences);
    }

    private static JsonNode Required(JsonObject o, string key) => o[key] ?? throw new KeyNotFoundException($"missing \"{key}\"");
}
