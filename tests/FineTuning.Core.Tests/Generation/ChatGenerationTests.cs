using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Core.Tests.Models.Tokenizers;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using Xunit;

namespace FineTuning.Core.Tests.Generation;

/// <summary>TextGenerator.Chat: the template's generation prompt in, the assistant text out, stopping at end of turn.</summary>
public sealed class ChatGenerationTests
{
    private static readonly ChatMessage[] Messages =
    {
        new(ChatRole.System, "be brief"),
        new(ChatRole.User, "tell me a story"),
    };

    private static CustomChatTemplate Template(string assistantEnd = "", bool eos = true) => new()
    {
        UserPrefix = "Q ", UserSuffix = " ", AssistantPrefix = "A ", AssistantEnd = assistantEnd, EndWithEos = eos,
    };

    [Fact]
    public void Chat_GreedyWithEosTemplate_EqualsGenerateIdsOnTheTemplatePrompt_StreamConcatenates()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var tokenizer = new CharTokenizer();
        var generator = new TextGenerator(model, tokenizer);
        var options = new GenerationOptions { MaxNewTokens = 20 };
        CustomChatTemplate template = Template();

        IReadOnlyList<int> prompt = new ChatLabeler(template, tokenizer).TokenizePrompt(new ChatExample(Messages));
        IReadOnlyList<int> ids = generator.GenerateIds(new[] { prompt }, new GenerationOptions { MaxNewTokens = 20, StopTokenIds = new[] { tokenizer.EosId } })[0];

        string reply = generator.Chat(Messages, template, options);
        Assert.Equal(tokenizer.Decode(ids), reply);
        var usage = new GenerationUsage();
        Assert.Equal(reply, string.Concat(generator.ChatStream(Messages, template, options, usage)));
        Assert.True(usage.Completed);
        Assert.Equal(prompt.Count, usage.PromptTokens);
        Assert.Equal(ids.Count, usage.GeneratedTokens);
        // EOS at step k <= 20 leaves k - 1 ids; 20 ids means no EOS came within the limit.
        Assert.Equal(ids.Count == 20, usage.ReachedMaxTokens);
        Assert.Equal("Q tell me a story A ", new ChatLabeler(template, tokenizer).TokenizePrompt(new ChatExample(Messages)).Skip(1 + "be brief\n".Length)
            .Select(i => CharTokenizer.Alphabet[i - 3]).Aggregate(string.Empty, (s, c) => s + c));
    }

    [Fact]
    public void Chat_TextEndOfTurn_StopsBeforeItsFirstOccurrence()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        // The unconstrained greedy continuation of the same prompt; the end-of-turn marker is one of its characters.
        string free = generator.Chat(Messages, Template(eos: false), new GenerationOptions { MaxNewTokens = 30, StopTokenIds = Array.Empty<int>() });
        char marker = free.Skip(1).First(c => c != free[0]);
        int at = free.IndexOf(marker, StringComparison.Ordinal);

        string reply = generator.Chat(Messages, Template(assistantEnd: marker.ToString(), eos: false), new GenerationOptions { MaxNewTokens = 30 });

        Assert.Equal(free[..at], reply);
    }

    [Fact]
    public void ChatPrompt_SpecialEndOfTurnToken_IsAStopId_WithoutSuchToken_AStopString()
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.SentencePiece, root =>
        {
            JsonArray added = root["added_tokens"]!.AsArray();
            int next = root["model"]!["vocab"]!.AsObject().Count;
            foreach (string token in new[] { "<|im_start|>", "<|im_end|>" })
                added.Add(new JsonObject { ["id"] = next++, ["content"] = token, ["special"] = true, ["normalized"] = false });
        });
        HfTokenizer hf = HfTokenizer.Parse(json);
        int imEnd = hf.TokenToId("<|im_end|>")!.Value;

        ChatPrompt withToken = ChatPrompt.Create(Messages, ChatTemplates.ChatML, hf);
        Assert.Equal(new[] { hf.EosId, imEnd }, withToken.StopIds);
        Assert.Empty(withToken.StopStrings);
        Assert.Equal(hf.TokenToId("<|im_start|>"), withToken.Ids[0]);

        ChatPrompt asText = ChatPrompt.Create(Messages, ChatTemplates.ChatML, new CharTokenizer());
        Assert.Equal(new[] { 2 }, asText.StopIds);
        Assert.Equal(new[] { "<|im_end|>" }, asText.StopStrings);

        ChatPrompt llama2 = ChatPrompt.Create(Messages, ChatTemplates.Llama2, new CharTokenizer());
        Assert.Equal(new[] { 2 }, llama2.StopIds);
        Assert.Empty(llama2.StopStrings);
    }

    [Fact]
    public void Chat_NoMessages_ThrowsArgumentException()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        Assert.Throws<ArgumentException>(() => generator.Chat(Array.Empty<ChatMessage>(), ChatTemplates.ChatML));
    }
}
