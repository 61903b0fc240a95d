namespace FineTuning.Data.Templates;

/// <summary>A fixed piece of markup in a template.</summary>
internal readonly record struct MarkupPiece(string Text, SegmentKind Kind)
{
    internal static MarkupPiece Plain(string text) => new(text, SegmentKind.Text);

    internal static MarkupPiece Special(string text) => new(text, SegmentKind.SpecialToken);

    internal static MarkupPiece Bos(string spelling) => new(spelling, SegmentKind.Bos);

    internal static MarkupPiece Eos(string spelling) => new(spelling, SegmentKind.Eos);
}

/// <summary>How one role is framed: header before the content, end-of-turn after it (trainable for the assistant), then a trailer.</summary>
internal sealed record RoleMarkup(MarkupPiece[] Header, MarkupPiece[] End, MarkupPiece[] Trailer);
