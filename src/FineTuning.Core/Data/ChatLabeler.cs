using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Data;

/// <summary>
/// Turns conversations into <see cref="TokenSequence"/>s: renders with a template, tokenises each segment on
/// its own and concatenates, so every token knows exactly which segment (and message) it came from and the
/// label mask needs no searching. Trainable segments (assistant content and its end-of-turn / EOS token)
/// keep their ids as labels; everything else gets -100 (see <see cref="LossScope"/>).
/// </summary>
public sealed class ChatLabeler
{
    private readonly IChatTemplate _template;
    private readonly ITokenizer _tokenizer;
    private readonly LabelingOptions _options;

    /// <summary>Creates a labeler.</summary>
    /// <param name="template">The chat template.</param>
    /// <param name="tokenizer">The model's tokenizer; with an <see cref="IContinuationTokenizer"/> only the first text segment gets a dummy-prefix space.</param>
    /// <param name="options">Loss scope, maximum length, truncation and special-token ids (copied).</param>
    public ChatLabeler(IChatTemplate template, ITokenizer tokenizer, LabelingOptions? options = null)
    {
        _template = template ?? throw new ArgumentNullException(nameof(template));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _options = (options ?? new LabelingOptions()).Validated();
    }

    /// <summary>The maximum length examples are held to (null = none).</summary>
    public int? MaxLength => _options.MaxLength;

    /// <summary>Ids and labels of <paramref name="chat"/> before any length limit (labels -100 where not learned).</summary>
    /// <param name="chat">The conversation.</param>
    /// <returns>Ids and labels of equal length.</returns>
    public (long[] Ids, long[] Labels) Tokenize(ChatExample chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        IReadOnlyList<TemplateSegment> segments = _template.Render(chat);
        int lastAssistant = -1;
        for (int i = 0; i < chat.Messages.Count; i++)
        {
            if (chat.Messages[i].Role == ChatRole.Assistant) lastAssistant = i;
        }

        var ids = new List<long>();
        var labels = new List<long>();
        bool firstText = true;
        foreach (TemplateSegment segment in segments)
        {
            IReadOnlyList<int> tokens = Encode(segment, ref firstText);
            bool learn = Learned(segment, chat, lastAssistant);
            foreach (int t in tokens)
            {
                ids.Add(t);
                labels.Add(learn ? t : TokenSequence.IgnoreIndex);
            }
        }

        return (ids.ToArray(), labels.ToArray());
    }

    /// <summary>
    /// Token ids of the template's generation prompt for <paramref name="chat"/> (conversation + assistant header),
    /// tokenised segment by segment exactly as in training, to feed <c>TextGenerator.GenerateIds</c>.
    /// </summary>
    /// <param name="chat">The conversation so far.</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> TokenizePrompt(ChatExample chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        var ids = new List<int>();
        bool firstText = true;
        foreach (TemplateSegment segment in _template.RenderPrompt(chat)) ids.AddRange(Encode(segment, ref firstText));
        return ids;
    }

    /// <summary>Plain text for language modelling: BOS, the text, EOS, every token learned (length limit applied as for chats).</summary>
    /// <param name="texts">The texts.</param>
    /// <returns>The sequences and what was truncated or dropped.</returns>
    public LabelingResult LabelTexts(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Label(texts.Select(t =>
        {
            var ids = new List<long> { _tokenizer.BosId };
            ids.AddRange(_tokenizer.Encode(t, addBos: false).Select(i => (long)i));
            ids.Add(_tokenizer.EosId);
            long[] a = ids.ToArray();
            return (a, (long[])a.Clone());
        }));
    }

    /// <summary>Labels every conversation, applying the maximum length and truncation policy.</summary>
    /// <param name="chats">The conversations.</param>
    /// <returns>The sequences (input order) and what was truncated or dropped.</returns>
    public LabelingResult Label(IEnumerable<ChatExample> chats)
    {
        ArgumentNullException.ThrowIfNull(chats);
        return Label(chats.Select(Tokenize));
    }

    private LabelingResult Label(IEnumerable<(long[] Ids, long[] Labels)> encoded)
    {
        var sequences = new List<TokenSequence>();
        var dropped = new List<DroppedExample>();
        int truncated = 0;
        int index = -1;
        foreach ((long[] ids, long[] labels) in encoded)
        {
            index++;
            long[] keptIds = ids;
            long[] keptLabels = labels;
            bool cut = false;
            if (_options.MaxLength is int max && ids.Length > max)
            {
                if (_options.Truncation == TruncationPolicy.Drop)
                {
                    dropped.Add(new DroppedExample(index, $"{ids.Length} tokens, longer than the maximum length {max}"));
                    continue;
                }

                keptIds = ids[..max];
                keptLabels = labels[..max];
                cut = true;
            }

            if (ids.Length == 0 || keptLabels.Skip(1).All(l => l == TokenSequence.IgnoreIndex))
            {
                dropped.Add(new DroppedExample(index, cut ? "no learned token left after truncation" : "no learned token (no assistant message to learn)"));
                continue;
            }

            if (cut) truncated++;
            sequences.Add(new TokenSequence(keptIds, keptLabels));
        }

        return new LabelingResult(sequences, truncated, dropped);
    }

    private bool Learned(TemplateSegment segment, ChatExample chat, int lastAssistant)
    {
        if (_options.Loss == LossScope.AllTokens) return true;
        if (!segment.Trainable) return false;
        if (segment.MessageIndex < 0 || segment.MessageIndex >= chat.Messages.Count) return false;
        if (chat.Messages[segment.MessageIndex].Weight == 0) return false;
        return _options.Loss != LossScope.LastAssistantTurn || segment.MessageIndex == lastAssistant;
    }

    private IReadOnlyList<int> Encode(TemplateSegment segment, ref bool firstText)
    {
        switch (segment.Kind)
        {
            case SegmentKind.Bos:
                return new[] { _tokenizer.BosId };
            case SegmentKind.Eos:
                return new[] { _tokenizer.EosId };
            case SegmentKind.SpecialToken when _options.SpecialTokens.TryGetValue(segment.Text, out int id):
                return new[] { id };
            default:
                if (segment.Text.Length == 0) return Array.Empty<int>();
                IReadOnlyList<int> tokens = !firstText && _tokenizer is IContinuationTokenizer c
                    ? c.EncodeContinuation(segment.Text)
                    : _tokenizer.Encode(segment.Text, addBos: false);
                firstText = false;
                return tokens;
        }
    }
}
