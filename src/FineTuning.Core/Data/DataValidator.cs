using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using FineTuning.Data.Templates;
using FineTuning.Models;

namespace FineTuning.Data;

/// <summary>Checks a conversation data set before training and reports what it finds (<see cref="DataValidationReport"/>).</summary>
public static partial class DataValidator
{
    /// <summary>Validates <paramref name="chats"/> as <paramref name="labeler"/> would label them.</summary>
    /// <param name="chats">The conversations.</param>
    /// <param name="labeler">Template, tokenizer and options (its maximum length is the truncation threshold).</param>
    /// <param name="contextLength">The model's context length (e.g. <c>max_position_embeddings</c>), or null.</param>
    /// <returns>The report.</returns>
    public static DataValidationReport Validate(IReadOnlyList<ChatExample> chats, ChatLabeler labeler, int? contextLength = null)
    {
        ArgumentNullException.ThrowIfNull(chats);
        ArgumentNullException.ThrowIfNull(labeler);
        var lengths = new List<int>();
        var overMax = new List<int>();
        var overContext = new List<int>();
        var exact = new List<int>();
        var normalised = new List<int>();
        var empty = new List<int>();
        var badOrder = new List<int>();
        var nothing = new List<int>();
        var unrenderable = new List<DroppedExample>();
        var seenExact = new HashSet<string>(StringComparer.Ordinal);
        var seenNormalised = new HashSet<string>(StringComparer.Ordinal);
        long learned = 0;
        int? maxLength = labeler.MaxLength;

        for (int i = 0; i < chats.Count; i++)
        {
            ChatExample chat = chats[i];
            if (!seenExact.Add(Key(chat, normalise: false))) exact.Add(i);
            if (!seenNormalised.Add(Key(chat, normalise: true))) normalised.Add(i);
            if (chat.Messages.Any(m => m.Role == ChatRole.Assistant && string.IsNullOrWhiteSpace(m.Content))) empty.Add(i);
            if (!WellOrdered(chat)) badOrder.Add(i);

            long[] ids, labels;
            try
            {
                (ids, labels) = labeler.Tokenize(chat);
            }
            catch (ChatTemplateException e)
            {
                unrenderable.Add(new DroppedExample(i, e.Message));
                continue;
            }

            lengths.Add(ids.Length);
            long targets = labels.Skip(1).LongCount(l => l != TokenSequence.IgnoreIndex);
            learned += targets;
            if (targets == 0) nothing.Add(i);
            if (ids.Length > maxLength) overMax.Add(i);
            if (ids.Length > contextLength) overContext.Add(i);
        }

        return new DataValidationReport
        {
            Examples = chats.Count,
            Messages = chats.Sum(c => c.Messages.Count),
            TokenLengths = LengthDistribution.Of(lengths),
            LearnedTokens = learned,
            MaxLength = maxLength,
            OverMaxLength = overMax,
            ContextLength = contextLength,
            OverContext = overContext,
            ExactDuplicates = exact,
            WhitespaceDuplicates = normalised,
            EmptyResponses = empty,
            BadRoleOrder = badOrder,
            NothingToLearn = nothing,
            Unrenderable = unrenderable,
        };
    }

    /// <summary>Optional system first, then user/assistant alternating from user, ending with assistant.</summary>
    internal static bool WellOrdered(ChatExample chat)
    {
        IReadOnlyList<ChatMessage> m = chat.Messages;
        int first = m.Count > 0 && m[0].Role == ChatRole.System ? 1 : 0;
        if (m.Count - first < 2) return false;
        for (int i = first; i < m.Count; i++)
        {
            if (m[i].Role != ((i - first) % 2 == 0 ? ChatRole.User : ChatRole.Assistant)) return false;
        }

        return m[^1].Role == ChatRole.Assistant;
    }

    private static string Key(ChatExample chat, bool normalise)
    {
        var b = new StringBuilder();
        foreach (ChatMessage m in chat.Messages)
        {
            string content = normalise ? Whitespace().Replace(m.Content.Trim(), " ") : m.Content;
            // Lengths make the key unambiguous whatever the contents hold.
            b.Append((int)m.Role).Append(':').Append(content.Length).Append(':').Append(content);
        }

        return b.ToString();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
