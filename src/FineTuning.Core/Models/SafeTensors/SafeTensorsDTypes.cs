using System;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>Maps <see cref="SafeTensorsDType"/> to header names, element sizes and TorchSharp scalar types.</summary>
internal static class SafeTensorsDTypes
{
    internal static string HeaderName(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => "BOOL",
        SafeTensorsDType.U8 => "U8",
        SafeTensorsDType.I8 => "I8",
        SafeTensorsDType.I16 => "I16",
        SafeTensorsDType.I32 => "I32",
        SafeTensorsDType.I64 => "I64",
        SafeTensorsDType.F16 => "F16",
        SafeTensorsDType.BF16 => "BF16",
        SafeTensorsDType.F32 => "F32",
        SafeTensorsDType.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>Parses a header dtype name; the names are case-sensitive, as in the reference implementation.</summary>
    internal static bool TryParse(string? name, out SafeTensorsDType dtype)
    {
        (bool ok, dtype) = name switch
        {
            "BOOL" => (true, SafeTensorsDType.Bool),
            "U8" => (true, SafeTensorsDType.U8),
            "I8" => (true, SafeTensorsDType.I8),
            "I16" => (true, SafeTensorsDType.I16),
            "I32" => (true, SafeTensorsDType.I32),
            "I64" => (true, SafeTensorsDType.I64),
            "F16" => (true, SafeTensorsDType.F16),
            "BF16" => (true, SafeTensorsDType.BF16),
            "F32" => (true, SafeTensorsDType.F32),
            "F64" => (true, SafeTensorsDType.F64),
            _ => (false, default(SafeTensorsDType)),
        };
        return ok;
    }

    internal static int ElementSize(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.F32 => 4,
        SafeTensorsDType.I64 or SafeTensorsDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    internal static ScalarType ToScalarType(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => ScalarType.Bool,
        SafeTensorsDType.U8 => ScalarType.Byte,
        SafeTensorsDType.I8 => ScalarType.Int8,
        SafeTensorsDType.I16 => ScalarType.Int16,
        SafeTensorsDType.I32 => ScalarType.Int32,
        SafeTensorsDType.I64 => ScalarType.Int64,
        SafeTensorsDType.F16 => ScalarType.Float16,
        SafeTensorsDType.BF16 => ScalarType.BFloat16,
        SafeTensorsDType.F32 => ScalarType.Float32,
        SafeTensorsDType.F64 => ScalarType.Float64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    internal static bool TryFromScalarType(ScalarType type, out SafeTensorsDType dtype)
    {
        (bool ok, dtype) = type switch
        {
            ScalarType.Bool => (true, SafeTensorsDType.Bool),
            ScalarType.Byte => (true, SafeTensorsDType.U8),
            ScalarType.Int8 => (true, SafeTensorsDType.I8),
            ScalarType.Int16 => (true, SafeTensorsDType.I16),
            ScalarType.Int32 => (true, SafeTensorsDType.I32),
            ScalarType.Int64 => (true, SafeTensorsDType.I64),
            ScalarType.Float16 => (true, SafeTensorsDType.F16),
            ScalarType.BFloat16 => (true, SafeTensorsDType.BF16),
            ScalarType.Float32 => (true, SafeTensorsDType.F32),
            ScalarType.Float64 => (true, SafeTensorsDType.F64),
            _ => (false, default(SafeTensorsDType)),
        };
        return ok;
    }
}
