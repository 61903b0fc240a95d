namespace FineTuning.Data.Templates;

/// <summary>
/// One piece of a rendered conversation. Rendering yields segments, never a flat string to be searched
/// later, so the label mask follows from the segments exactly.
/// </summary>
/// <param name="Text">The text (for <see cref="SegmentKind.Bos"/>/<see cref="SegmentKind.Eos"/> the token's spelling, for display only).</param>
/// <param name="Kind">How the segment becomes token ids.</param>
/// <param name="MessageIndex">Index of the message this segment belongs to (its markup, content or end-of-turn), or -1 for none.</param>
/// <param name="Trainable">True for what the model should learn to produce: an assistant message's content and its end-of-turn marker.</param>
public sealed record TemplateSegment(string Text, SegmentKind Kind, int MessageIndex, bool Trainable);
