using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Generation;

/// <summary>
/// Generates text from a causal language model: greedy or sampled (temperature, top-k, top-p with a seeded
/// generator), with a KV cache, stop tokens and stop strings, streamed piece by piece or for a batch of
/// prompts at once (left padding). Runs without gradients, with one dispose scope per generated token;
/// no tensor outlives a call.
/// </summary>
public sealed class TextGenerator
{
    private readonly ICausalLanguageModel model;
    private readonly ITokenizer tokenizer;

    /// <summary>Creates a generator for <paramref name="model"/> with <paramref name="tokenizer"/>.</summary>
    /// <param name="model">The model (e.g. <c>LlamaForCausalLM</c>); put it in eval mode for deterministic output.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    public TextGenerator(ICausalLanguageModel model, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /// <summary>
    /// Streams the continuation of <paramref name="prompt"/> as text pieces, as soon as they are complete
    /// characters that cannot start a stop string. Their concatenation equals <see cref="Generate(string, GenerationOptions?)"/>.
    /// Lazy: nothing runs until enumeration; disposing the enumerator early frees the cache.
    /// </summary>
    /// <param name="prompt">The prompt text (may be empty when <see cref="GenerationOptions.AddBos"/> is set).</param>
    /// <param name="options">Decoding options; copied when enumeration starts.</param>
    /// <returns>The text pieces.</returns>
    public IEnumerable<string> Stream(string prompt, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return StreamCore(prompt, Copy(options));
    }

    /// <summary>The continuation of <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The prompt text.</param>
    /// <param name="options">Decoding options.</param>
    /// <returns>The generated text (stop token and stop string excluded).</returns>
    public string Generate(string prompt, GenerationOptions? options = null)
    {
        var text = new StringBuilder();
        foreach (string piece in Stream(prompt, options)) text.Append(piece);
        return text.ToString();
    }

    /// <summary>Continuations of several prompts, decoded together as one left-padded batch.</summary>
    /// <param name="prompts">The prompt texts.</param>
    /// <param name="options">Decoding options (one sampling generator serves the whole batch).</param>
    /// <returns>One generated text per prompt, in order.</returns>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        GenerationOptions o = Copy(options);
        IReadOnlyList<int>[] ids = prompts.Select(p => tokenizer.Encode(p ?? throw new ArgumentException("a prompt is null.", nameof(prompts)), o.AddBos)).ToArray();
        return Run(ids, o).Texts;
    }

    /// <summary>Generated token ids (stop token excluded unless <see cref="GenerationOptions.IncludeStopToken"/>) for prompts given as token ids, decoded as one left-padded batch.</summary>
    /// <param name="prompts">Token ids per prompt, BOS included if wanted.</param>
    /// <param name="options">Decoding options.</param>
    /// <returns>The new ids per prompt.</returns>
    public IReadOnlyList<IReadOnlyList<int>> GenerateIds(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return Run(prompts, Copy(options)).Ids;
    }

    /// <summary>
    /// The assistant's reply to <paramref name="messages"/>: the conversation is rendered with <paramref name="template"/>
    /// followed by its assistant header (HF's <c>add_generation_prompt</c>), tokenised as in training, and generation
    /// stops at the template's end-of-turn token (or its text, when the tokenizer has no such token), at EOS, or after
    /// <see cref="GenerationOptions.MaxNewTokens"/>. <see cref="GenerationOptions.AddBos"/> is ignored (the template
    /// decides); stop tokens and strings in <paramref name="options"/> are added to the template's.
    /// </summary>
    /// <param name="messages">The conversation so far, usually ending with a user message.</param>
    /// <param name="template">The chat template the model was trained with.</param>
    /// <param name="options">Decoding options.</param>
    /// <returns>The reply text, end-of-turn marker excluded.</returns>
    /// <exception cref="ChatTemplateException">The template cannot express the conversation.</exception>
    public string Chat(IReadOnlyList<ChatMessage> messages, IChatTemplate template, GenerationOptions? options = null)
    {
        var text = new StringBuilder();
        foreach (string piece in ChatStream(messages, template, options)) text.Append(piece);
        return text.ToString();
    }

    /// <summary>Like <see cref="Chat"/>, streamed piece by piece; the pieces concatenate to <see cref="Chat"/>'s reply. Lazy.</summary>
    /// <param name="messages">The conversation so far.</param>
    /// <param name="template">The chat template the model was trained with.</param>
    /// <param name="options">Decoding options.</param>
    /// <param name="usage">Optional: receives the token counts and whether the length limit ended the reply, complete once the stream ends.</param>
    /// <returns>The reply's text pieces.</returns>
    public IEnumerable<string> ChatStream(IReadOnlyList<ChatMessage> messages, IChatTemplate template, GenerationOptions? options = null, GenerationUsage? usage = null)
    {
        ChatPrompt prompt = ChatPrompt.Create(messages, template, tokenizer);
        GenerationOptions o = Copy(options);
        o.StopTokenIds = prompt.StopIds.Concat(o.StopTokenIds ?? Array.Empty<int>()).Distinct().ToArray();
        o.StopStrings = prompt.StopStrings.Concat(o.StopStrings).Distinct().ToArray();
        return StreamIds(prompt.Ids, o, usage);
    }

    private (IReadOnlyList<string> Texts, IReadOnlyList<IReadOnlyList<int>> Ids) Run(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options)
    {
        var rows = prompts.Select(p => new RowText(tokenizer, p, options.StopStrings)).ToArray();
        using var session = new GenerationSession(model, prompts, options, StopIds(options), tokenizer.EosId);
        while (session.Step())
        {
            for (int r = 0; r < rows.Length; r++)
            {
                rows[r].Update(session.Generated[r], final: false);
                if (rows[r].StopStringSeen) session.Stop(r);
            }
        }

        // A row stops at the token that completed a stop string; its ids include that token, its text does not.
        IReadOnlyList<int>[] ids = session.Generated
            .Select((g, r) => (IReadOnlyList<int>)(session.StopTokens[r] is { } stop ? g.Append(stop).ToArray() : g.ToArray()))
            .ToArray();
        return (rows.Select(r => r.Text).ToArray(), ids);
    }

    private IEnumerable<string> StreamCore(string prompt, GenerationOptions options) => StreamIds(tokenizer.Encode(prompt, options.AddBos), options);

    private IEnumerable<string> StreamIds(IReadOnlyList<int> ids, GenerationOptions options, GenerationUsage? usage = null)
    {
        var row = new RowText(tokenizer, ids, options.StopStrings);
        using var session = new GenerationSession(model, new[] { ids }, options, StopIds(options), tokenizer.EosId);
        if (usage is not null) usage.PromptTokens = ids.Count;
        while (session.Step())
        {
            string piece = row.Update(session.Generated[0], final: false);
            if (row.StopStringSeen) session.Stop(0);
            if (usage is not null) usage.GeneratedTokens = session.Generated[0].Count;
            if (piece.Length > 0) yield return piece;
        }

        string rest = row.Update(session.Generated[0], final: true);
        if (usage is not null)
        {
            usage.ReachedMaxTokens = !session.Finished[0];
            usage.Completed = true;
        }

        if (rest.Length > 0) yield return rest;
    }

    private IEnumerable<int> StopIds(GenerationOptions options) => options.StopTokenIds ?? new[] { tokenizer.EosId };

    private static GenerationOptions Copy(GenerationOptions? options)
    {
        GenerationOptions copy = (options ?? new GenerationOptions()).Clone();
        copy.Validate();
        return copy;
    }
}
