namespace FineTuning.Data.Templates;

/// <summary>How a rendered segment becomes token ids.</summary>
public enum SegmentKind
{
    /// <summary>Ordinary text, encoded by the tokenizer.</summary>
    Text = 0,

    /// <summary>A marker such as <c>&lt;|im_start|&gt;</c>: one special token id when the tokenizer has it (see the labeler's special-token map), else encoded as text.</summary>
    SpecialToken = 1,

    /// <summary>The tokenizer's beginning-of-sequence id.</summary>
    Bos = 2,

    /// <summary>The tokenizer's end-of-sequence id.</summary>
    Eos = 3,
}
