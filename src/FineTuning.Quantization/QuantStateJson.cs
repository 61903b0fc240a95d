using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Json;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// The non-tensor part of a quantized weight, stored as bitsandbytes stores it: a JSON object in a uint8 tensor
/// named <c>{layer}.weight.quant_state.bitsandbytes__{nf4|fp4}</c> (<c>QuantState.as_dict(packed=True)</c>).
/// Keys: quant_type, blocksize, dtype, shape, and with double quantization nested_blocksize, nested_dtype,
/// nested_offset. INT8 block quantization is ours (bitsandbytes' 8-bit layers use another scheme): its key ends
/// in <c>finetuning__int8</c>.
/// </summary>
internal sealed record QuantStateJson(string QuantType, int BlockSize, string DType, long[] Shape, int? NestedBlockSize, float? NestedOffset)
{
    public const string KeyPrefix = "weight.quant_state.";

    public static string KeySuffix(QuantizationType type) =>
        KeyPrefix + (type.BitsPerValue == 4 ? "bitsandbytes__" : "finetuning__") + type.Name;

    public static QuantStateJson Of(QuantizedWeight w) =>
        new(w.Type.Name, w.BlockSize, DTypeName(w.SourceDType), new[] { w.Rows, w.Columns }, w.Scales?.BlockSize, w.Scales?.Offset);

    public byte[] ToBytes()
    {
        var o = new JsonObject
        {
            ["quant_type"] = QuantType,
            ["blocksize"] = BlockSize,
            ["dtype"] = DType,
            ["shape"] = new JsonArray(Array.ConvertAll(Shape, s => (JsonNode?)JsonValue.Create(s))),
        };
        if (NestedBlockSize is { } nb)
        {
            o["nested_blocksize"] = nb;
            o["nested_dtype"] = "float32";
            o["nested_offset"] = (double)NestedOffset!.Value;
        }
        return Encoding.UTF8.GetBytes(o.ToJsonString());
    }

    /// <summary>Parses the JSON; null and a reason when it is not a quant state this library can read.</summary>
    public static QuantStateJson? Parse(byte[] bytes, out string? problem)
    {
        problem = null;
        try
        {
            JsonInput.Validate(bytes, (field, _, reason) => new FormatException(field is null ? reason : $"\"{field}\": {reason}"), JsonLimits.Strict);
            JsonObject o = JsonNode.Parse(bytes) as JsonObject ?? throw new JsonException("not a JSON object");
            string type = Required(o, "quant_type").GetValue<string>();
            int blockSize = Required(o, "blocksize").GetValue<int>();
            string dtype = Required(o, "dtype").GetValue<string>();
            JsonArray shapeNode = Required(o, "shape").AsArray();
            var shape = new long[shapeNode.Count];
            for (int i = 0; i < shape.Length; i++)
            {
                shape[i] = shapeNode[i]?.GetValue<long>() ?? throw new FormatException($"shape[{i}] is null");
                if (shape[i] < 0) throw new FormatException($"shape[{i}] is negative ({shape[i]})");
            }
            int? nestedBlock = o["nested_blocksize"]?.GetValue<int>();
            float? offset = o["nested_offset"] is { } off ? Float32(off.GetValue<double>(), "nested_offset") : null;
            if (nestedBlock.HasValue != offset.HasValue)
                throw new JsonException("nested_blocksize and nested_offset must both be present or both absent");
            return new QuantStateJson(type, blockSize, dtype, shape, nestedBlock, offset);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            problem = e.Message;
            return null;
        }
    }

    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString().ToLower(CultureInfo.InvariantCulture),
    };

    public static ScalarType? ParseDType(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        "float64" => ScalarType.Float64,
        _ => null,
    };

    private static float Float32(double value, string key) =>
        double.IsFinite(value) && Math.Abs(value) <= float.MaxValue ? (float)value : throw new FormatException($"\"{key}\" {value} is not a finite float32 value");

    private static JsonNode Required(JsonObject o, string key) => o[key] ?? throw new KeyNotFoundException($"missing \"{key}\"");
}
