using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FineTuning.Data.Templates;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Microsoft.Extensions.AI;
using TorchSharp;
using Xunit;
using FtChatMessage = FineTuning.Data.ChatMessage;
using FtChatRole = FineTuning.Data.ChatRole;

namespace FineTuning.Extensions.AI.Tests;

/// <summary>The IChatClient answers what TextGenerator.Chat answers, streamed or not, with ChatOptions honoured.</summary>
public sealed class FineTuningChatClientTests : IDisposable
{
    private static readonly CustomChatTemplate Template = new() { UserPrefix = "Q: ", UserSuffix = "\n", AssistantPrefix = "A: " };
    private static readonly ChatMessage[] Messages = { new(ChatRole.System, "Be kind."), new(ChatRole.User, "Tell me a story.") };
    private static readonly FtChatMessage[] Same = { new(FtChatRole.System, "Be kind."), new(FtChatRole.User, "Tell me a story.") };

    private readonly LlamaForCausalLM model;
    private readonly ByteTokenizer tokenizer = new();
    private readonly FineTuningChatClient client;

    public FineTuningChatClientTests()
    {
        model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 256,
        });
        using var g = new torch.Generator(17);
        model.InitializeWeights(g, std: 0.3);
        model.eval();
        client = new FineTuningChatClient(model, tokenizer, Template, new FineTuningChatClientOptions { ModelId = "tiny" });
    }

    public void Dispose()
    {
        client.Dispose();
        model.Dispose();
    }

    [Fact]
    public async Task GetResponseAsync_Greedy_EqualsTextGeneratorChat()
    {
        ChatResponse response = await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 24 });

        string expected = new TextGenerator(model, tokenizer).Chat(Same, Template, new GenerationOptions { MaxNewTokens = 24 });
        Assert.Equal(expected, response.Text);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
        Assert.Equal("tiny", response.ModelId);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Concatenation_EqualsNonStreaming()
    {
        var options = new ChatOptions { MaxOutputTokens = 24, Temperature = 0.9f, TopP = 0.9f, Seed = 5 };
        var pieces = new List<string>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Messages, options)) pieces.Add(update.Text);

        ChatResponse response = await client.GetResponseAsync(Messages, options);
        Assert.True(pieces.Count > 1);
        Assert.Equal(response.Text, string.Concat(pieces));
    }

    [Fact]
    public async Task GetResponseAsync_SameSeed_SameAnswer_OtherSeed_Differs()
    {
        async Task<string> Sample(long seed) =>
            (await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 40, Temperature = 1.5f, Seed = seed })).Text;

        string first = await Sample(1);
        Assert.Equal(first, await Sample(1));
        var others = new[] { await Sample(2), await Sample(3), await Sample(4) };
        Assert.Contains(others, o => o != first);
    }

    [Fact]
    public async Task GetResponseAsync_StopSequence_ReplyEndsBeforeIt()
    {
        string free = (await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 40 })).Text;
        Assert.True(free.Length > 4, $"reply too short to cut: \"{free}\"");
        string stop = free.Substring(free.Length / 2, 2);
        int at = free.IndexOf(stop, StringComparison.Ordinal);

        string cut = (await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 40, StopSequences = new[] { stop } })).Text;

        Assert.Equal(free[..at], cut);
        ChatResponse stopped = await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 40, StopSequences = new[] { stop } });
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_LimitsTheReply()
    {
        ChatResponse response = await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 3 });

        var generator = new TextGenerator(model, tokenizer);
        IReadOnlyList<int> prompt = new FineTuning.Data.ChatLabeler(Template, tokenizer).TokenizePrompt(new FineTuning.Data.ChatExample(Same));
        IReadOnlyList<int> ids = generator.GenerateIds(new[] { prompt }, new GenerationOptions { MaxNewTokens = 3 })[0];
        Assert.InRange(ids.Count, 1, 3);
        Assert.Equal(tokenizer.Decode(ids), response.Text);
        Assert.Equal(ids.Count == 3 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(prompt.Count, response.Usage!.InputTokenCount);
        Assert.Equal(ids.Count, response.Usage.OutputTokenCount);
    }

    [Fact]
    public void GetStreamingResponseAsync_UnsupportedRequest_ThrowsAtTheCall()
    {
        Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync(new[] { new ChatMessage(ChatRole.Tool, "42") }));
        Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync(Messages, new ChatOptions { FrequencyPenalty = 0.5f }));
        Assert.Throws<ArgumentException>(() => client.GetStreamingResponseAsync(Array.Empty<ChatMessage>()));
        Assert.Throws<ArgumentException>(() => client.GetStreamingResponseAsync(Messages, new ChatOptions { TopP = 0 }));
    }

    [Fact]
    public void GetService_Metadata_NamesProviderAndModel()
    {
        var metadata = Assert.IsType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("FineTuning", metadata.ProviderName);
        Assert.Equal("tiny", metadata.DefaultModelId);
        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Null(client.GetService(typeof(string)));
    }

    [SkippableFact]
    public async Task GetResponseAsync_Stories260K_GreedyEqualsTextGenerator()
    {
        string dir = ModelFiles.Stories260K();
        using LlamaForCausalLM stories = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        Llama2CTokenizer tok = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), stories.Config.VocabSize);
        using var real = new FineTuningChatClient(stories, tok, Template);

        ChatResponse response = await real.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 40 });

        Assert.Equal(new TextGenerator(stories, tok).Chat(Same, Template, new GenerationOptions { MaxNewTokens = 40 }), response.Text);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
    }
}
