namespace FineTuning.Models.Gguf;

/// <summary>Token kinds of <c>tokenizer.ggml.token_type</c> (llama.cpp's <c>llama_token_type</c> numbers).</summary>
public enum GgufTokenType
{
    /// <summary>An ordinary piece.</summary>
    Normal = 1,

    /// <summary>The unknown token (<c>&lt;unk&gt;</c>).</summary>
    Unknown = 2,

    /// <summary>A control token such as BOS or EOS: never produced by tokenizing text.</summary>
    Control = 3,

    /// <summary>A token added by the user, matched as a whole in text.</summary>
    UserDefined = 4,

    /// <summary>A slot that is never used.</summary>
    Unused = 5,

    /// <summary>A byte-fallback token (<c>&lt;0xNN&gt;</c>).</summary>
    Byte = 6,
}
