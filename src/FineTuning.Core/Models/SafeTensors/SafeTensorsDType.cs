namespace FineTuning.Models.SafeTensors;

/// <summary>
/// The element types this library reads and writes, named as in the safetensors header
/// (<see href="https://github.com/huggingface/safetensors"/>). All are little-endian.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary><c>BOOL</c>: one byte per element, 0 or 1.</summary>
    Bool,

    /// <summary><c>U8</c>: unsigned 8-bit integer.</summary>
    U8,

    /// <summary><c>I8</c>: signed 8-bit integer.</summary>
    I8,

    /// <summary><c>I16</c>: signed 16-bit integer.</summary>
    I16,

    /// <summary><c>I32</c>: signed 32-bit integer.</summary>
    I32,

    /// <summary><c>I64</c>: signed 64-bit integer.</summary>
    I64,

    /// <summary><c>F16</c>: IEEE 754 half precision.</summary>
    F16,

    /// <summary><c>BF16</c>: bfloat16 (the upper half of an IEEE 754 single).</summary>
    BF16,

    /// <summary><c>F32</c>: IEEE 754 single precision.</summary>
    F32,

    /// <summary><c>F64</c>: IEEE 754 double precision.</summary>
    F64,
}
