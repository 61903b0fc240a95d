namespace FineTuning.Models.Gguf;

/// <summary>
/// Storage types of GGUF tensors that the exporter writes; the values are ggml's <c>ggml_type</c> numbers
/// (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
/// </summary>
public enum GgufTensorType
{
    /// <summary>32-bit IEEE floats (ggml <c>GGML_TYPE_F32</c>): exact.</summary>
    F32 = 0,

    /// <summary>16-bit IEEE floats (<c>GGML_TYPE_F16</c>), rounded to nearest even: relative error at most 2^-11 per value.</summary>
    F16 = 1,

    /// <summary>
    /// Blocks of 32 values (<c>GGML_TYPE_Q4_0</c>, 18 bytes): an fp16 scale d = max / -8 (max = the value of largest
    /// magnitude) and 16 bytes of 4-bit codes, low nibbles for elements 0..15, high nibbles for 16..31; value = d * (q - 8).
    /// </summary>
    Q4_0 = 2,

    /// <summary>Blocks of 32 values (<c>GGML_TYPE_Q8_0</c>, 34 bytes): an fp16 scale d = max|x| / 127 and 32 int8 codes; value = d * q.</summary>
    Q8_0 = 8,
}
