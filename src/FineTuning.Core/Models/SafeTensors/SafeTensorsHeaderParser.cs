using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Reads and validates the header of a safetensors file (format:
/// <see href="https://github.com/huggingface/safetensors#format"/>). Input is untrusted: every violation
/// becomes a <see cref="SafeTensorsFormatException"/> naming the file and, where relevant, the tensor.
/// </summary>
internal static class SafeTensorsHeaderParser
{
    /// <summary>The reference implementation's cap on the header size (100 MB); bigger is treated as hostile.</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    /// <summary>Tensors of more dimensions than this are rejected; real checkpoints use at most a handful.</summary>
    internal const int MaxRank = 64;

    internal const string MetadataKey = "__metadata__";

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    internal static SafeTensorsHeader Read(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < sizeof(ulong))
        {
            throw new SafeTensorsFormatException(path, null, $"the file is {fileLength} bytes long, too short for the 8-byte header length (truncated file?).");
        }

        Span<byte> prefix = stackalloc byte[sizeof(ulong)];
        FileRanges.ReadExactly(handle, prefix, 0, path, null);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
        {
            throw new SafeTensorsFormatException(path, null, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        }

        if (headerLength > (ulong)(fileLength - sizeof(ulong)))
        {
            throw new SafeTensorsFormatException(path, null, $"the header length {headerLength} is larger than the rest of the file ({fileLength - sizeof(ulong)} bytes; truncated file?).");
        }

        byte[] json = new byte[(int)headerLength];
        FileRanges.ReadExactly(handle, json, sizeof(ulong), path, null);
        long dataStart = sizeof(ulong) + (long)headerLength;
        return Parse(json, path, dataStart, fileLength - dataStart);
    }

    internal static SafeTensorsHeader Parse(byte[] json, string path, long dataStart, long dataLength)
    {
        if (!Utf8.IsValid(json))
        {
            throw new SafeTensorsFormatException(path, null, "the header is not valid UTF-8.");
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json, JsonOptions);
            return FromJson(document.RootElement, path, dataStart, dataLength);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, null, $"the header is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // JsonElement.GetString / JsonProperty.Name throw this for escapes that decode to invalid UTF-16 (lone surrogates).
            throw new SafeTensorsFormatException(path, null, $"the header holds an invalid string: {e.Message}", e);
        }
    }

    private static SafeTensorsHeader FromJson(JsonElement root, string path, long dataStart, long dataLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(path, null, $"the header is a JSON {root.ValueKind}, not an object.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<SafeTensorInfo>();
        Dictionary<string, string>? metadata = null;
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                throw new SafeTensorsFormatException(path, property.Name, "the name appears more than once in the header.");
            }

            if (property.Name == MetadataKey)
            {
                metadata = ParseMetadata(property.Value, path);
            }
            else
            {
                tensors.Add(ParseTensor(property.Name, property.Value, path, dataLength));
            }
        }

        SafeTensorsLayout.Check(tensors, dataLength, path);
        tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new SafeTensorsHeader(path, dataStart, dataLength, tensors, metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement element, string path)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element.ValueKind == JsonValueKind.Null) return metadata;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(path, null, $"'{MetadataKey}' is a JSON {element.ValueKind}, not an object of strings.");
        }

        foreach (JsonProperty entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafeTensorsFormatException(path, null, $"'{MetadataKey}' value of key '{entry.Name}' is a JSON {entry.Value.ValueKind}, not a string.");
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw new SafeTensorsFormatException(path, null, $"'{MetadataKey}' key '{entry.Name}' appears more than once.");
            }
        }

        return metadata;
    }

    private static SafeTensorInfo ParseTensor(string name, JsonElement entry, string path, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(path, name, $"the entry is a JSON {entry.ValueKind}, not an object.");
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty field in entry.EnumerateObject())
        {
            if (!seen.Add(field.Name))
            {
                throw new SafeTensorsFormatException(path, name, $"the field '{field.Name}' appears more than once.");
            }

            switch (field.Name)
            {
                case "dtype": dtypeElement = field.Value; break;
                case "shape": shapeElement = field.Value; break;
                case "data_offsets": offsetsElement = field.Value; break;
                default: break; // Unknown fields are ignored, as the reference implementation does.
            }
        }

        SafeTensorsDType dtype = ParseDType(Required(dtypeElement, "dtype", name, path), name, path);
        long[] shape = ParseShape(Required(shapeElement, "shape", name, path), name, path);
        (long begin, long end) = ParseOffsets(Required(offsetsElement, "data_offsets", name, path), name, path, dataLength);
        long expected = ExpectedByteCount(shape, dtype, name, path);
        if (expected != end - begin)
        {
            throw new SafeTensorsFormatException(path, name,
                $"shape [{string.Join(", ", shape)}] of {SafeTensorsDTypes.HeaderName(dtype)} needs {expected} bytes but data_offsets [{begin}, {end}] cover {end - begin}.");
        }

        return new SafeTensorInfo(name, dtype, shape, begin, end, path);
    }

    private static JsonElement Required(JsonElement? element, string field, string name, string path) =>
        element ?? throw new SafeTensorsFormatException(path, name, $"the entry has no '{field}'.");

    private static SafeTensorsDType ParseDType(JsonElement element, string name, string path)
    {
        string? text = element.ValueKind == JsonValueKind.String ? element.GetString() : element.GetRawText();
        if (element.ValueKind != JsonValueKind.String || !SafeTensorsDTypes.TryParse(text, out SafeTensorsDType dtype))
        {
            throw new SafeTensorsFormatException(path, name,
                $"dtype {Truncate(text)} is unknown or unsupported (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64).");
        }

        return dtype;
    }

    private static long[] ParseShape(JsonElement element, string name, string path)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new SafeTensorsFormatException(path, name, $"shape is a JSON {element.ValueKind}, not an array.");
        }

        int rank = element.GetArrayLength();
        if (rank > MaxRank)
        {
            throw new SafeTensorsFormatException(path, name, $"shape has {rank} dimensions, more than the {MaxRank} supported.");
        }

        var shape = new long[rank];
        int i = 0;
        foreach (JsonElement dim in element.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long value) || value < 0)
            {
                throw new SafeTensorsFormatException(path, name, $"shape dimension {i} is {Truncate(dim.GetRawText())}, not a non-negative integer.");
            }

            shape[i++] = value;
        }

        return shape;
    }

    private static (long Begin, long End) ParseOffsets(JsonElement element, string name, string path, long dataLength)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != 2)
        {
            throw new SafeTensorsFormatException(path, name, $"data_offsets is {Truncate(element.GetRawText())}, not an array of two integers.");
        }

        JsonElement first = element[0], second = element[1];
        if (first.ValueKind != JsonValueKind.Number || !first.TryGetInt64(out long begin) || begin < 0
            || second.ValueKind != JsonValueKind.Number || !second.TryGetInt64(out long end) || end < 0)
        {
            throw new SafeTensorsFormatException(path, name, $"data_offsets {Truncate(element.GetRawText())} are not two non-negative 64-bit integers.");
        }

        if (begin > end)
        {
            throw new SafeTensorsFormatException(path, name, $"data_offsets [{begin}, {end}] begin after they end.");
        }

        if (end > dataLength)
        {
            throw new SafeTensorsFormatException(path, name,
                $"data_offsets [{begin}, {end}] reach beyond the data buffer, which holds {dataLength} bytes (truncated file?).");
        }

        return (begin, end);
    }

    private static long ExpectedByteCount(long[] shape, SafeTensorsDType dtype, string name, string path)
    {
        try
        {
            long count = 1;
            foreach (long dim in shape) count = checked(count * dim);
            return checked(count * SafeTensorsDTypes.ElementSize(dtype));
        }
        catch (OverflowException e)
        {
            throw new SafeTensorsFormatException(path, name, $"shape [{string.Join(", ", shape)}] holds more bytes than a 64-bit size can count.", e);
        }
    }

    private static string Truncate(string? text) =>
        text is null ? "null" : text.Length <= 40 ? $"'{text}'" : $"'{text[..40]}...'";
}
