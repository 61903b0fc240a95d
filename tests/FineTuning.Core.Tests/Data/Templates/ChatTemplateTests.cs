using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using Xunit;

namespace FineTuning.Core.Tests.Data.Templates;

/// <summary>Expected strings are written from each format's published documentation / model card.</summary>
public sealed class ChatTemplateTests
{
    private static readonly ChatExample Conversation = new(new[]
    {
        new ChatMessage(ChatRole.System, "You are a helpful assistant."),
        new ChatMessage(ChatRole.User, "Hello"),
        new ChatMessage(ChatRole.Assistant, "Hi there"),
        new ChatMessage(ChatRole.User, "Bye"),
        new ChatMessage(ChatRole.Assistant, "Goodbye"),
    });

    [Fact]
    public void ChatML_Render_MatchesPublishedFormat()
    {
        var segments = ChatTemplates.ChatML.Render(Conversation);
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n" +
            "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nGoodbye<|im_end|>\n",
            segments.ToText());
        Assert.Equal("Hi there<|im_end|>Goodbye<|im_end|>", segments.TrainableText());
        Assert.Equal("<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", ChatTemplates.ChatML.RenderPrompt(new ChatExample(new[] { new ChatMessage(ChatRole.User, "Bye") })).ToText());
    }

    [Fact]
    public void Llama3_Render_MatchesModelCard()
    {
        var chat = ChatExample.Exchange("What is France's capital?", "Bonjour! The capital of France is Paris!", "You are a helpful AI assistant for travel tips and recommendations");
        var segments = ChatTemplates.Llama3.Render(chat);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful AI assistant for travel tips and recommendations<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is France's capital?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nBonjour! The capital of France is Paris!<|eot_id|>",
            segments.ToText());
        Assert.Equal("Bonjour! The capital of France is Paris!<|eot_id|>", segments.TrainableText());
        Assert.Equal(SegmentKind.Bos, segments[0].Kind);
        Assert.EndsWith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", ChatTemplates.Llama3.RenderPrompt(chat).ToText(), System.StringComparison.Ordinal);
    }

    [Fact]
    public void Llama2_Render_MatchesMetaReferenceFormat()
    {
        var segments = ChatTemplates.Llama2.Render(Conversation);
        Assert.Equal(
            "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Bye [/INST] Goodbye </s>",
            segments.ToText());
        Assert.Equal("Hi there </s>Goodbye </s>", segments.TrainableText());
        Assert.Equal(0, segments.First(s => s.Text == "<<SYS>>\n").MessageIndex);
        Assert.Throws<ChatTemplateException>(() => ChatTemplates.Llama2.Render(new ChatExample(new[] { new ChatMessage(ChatRole.Assistant, "x") })));
    }

    [Fact]
    public void Zephyr_Render_MatchesHuggingFaceDocsExample()
    {
        var chat = new ChatExample(new[]
        {
            new ChatMessage(ChatRole.System, "You are a friendly chatbot who always responds in the style of a pirate"),
            new ChatMessage(ChatRole.User, "How many helicopters can a human eat in one sitting?"),
        });
        Assert.Equal(
            "<|system|>\nYou are a friendly chatbot who always responds in the style of a pirate</s>\n<|user|>\nHow many helicopters can a human eat in one sitting?</s>\n<|assistant|>\n",
            ChatTemplates.Zephyr.RenderPrompt(chat).ToText());
        var trained = ChatTemplates.Zephyr.Render(ChatExample.Exchange("Hi", "Arr"));
        Assert.Equal("Arr</s>", trained.TrainableText());
        Assert.Equal(SegmentKind.Eos, trained.Single(s => s.Trainable && s.Text == "</s>").Kind);
    }

    [Fact]
    public void Phi3_Render_MatchesModelCardAndEndsWithEndOfText()
    {
        var chat = new ChatExample(new[]
        {
            new ChatMessage(ChatRole.User, "I am going to Paris, what should I see?"),
            new ChatMessage(ChatRole.Assistant, "Paris, the capital of France, is known for the Eiffel Tower."),
            new ChatMessage(ChatRole.User, "What is so great about #1?"),
        });
        Assert.Equal(
            "<|user|>\nI am going to Paris, what should I see?<|end|>\n<|assistant|>\nParis, the capital of France, is known for the Eiffel Tower.<|end|>\n<|user|>\nWhat is so great about #1?<|end|>\n<|assistant|>\n",
            ChatTemplates.Phi3.RenderPrompt(chat).ToText());
        var trained = ChatTemplates.Phi3.Render(ChatExample.Exchange("Q", "A"));
        Assert.Equal("<|user|>\nQ<|end|>\n<|assistant|>\nA<|end|>\n<|endoftext|>", trained.ToText());
        Assert.Equal("A<|end|><|endoftext|>", trained.TrainableText());
    }

    [Fact]
    public void Alpaca_Render_MatchesStanfordPrompt_WithAndWithoutInput()
    {
        var withInput = ChatTemplates.Alpaca.Render(new AlpacaExample("Summarise.", "Long text", "Short").ToChat());
        Assert.Equal(
            "<s>Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n" +
            "### Instruction:\nSummarise.\n\n### Input:\nLong text\n\n### Response:\nShort</s>",
            withInput.ToText());
        Assert.Equal("Short</s>", withInput.TrainableText());
        var noInput = ChatTemplates.Alpaca.Render(new AlpacaExample("Say hi.", "", "Hi").ToChat());
        Assert.Equal(
            "<s>Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:\nHi</s>",
            noInput.ToText());
    }

    [Fact]
    public void Custom_Render_UsesUserMarkupAndTrainsEndAndEos()
    {
        var template = new CustomChatTemplate { UserPrefix = "Q: ", UserSuffix = "\n", AssistantPrefix = "A: ", AssistantEnd = ".", AssistantSuffix = "\n" };
        var segments = template.Render(ChatExample.Exchange("hi", "yo"));
        Assert.Equal("<s>Q: hi\nA: yo.</s>\n", segments.ToText());
        Assert.Equal("yo.</s>", segments.TrainableText());
        Assert.All(segments.Where(s => s.Trainable), s => Assert.Equal(1, s.MessageIndex));
        Assert.Equal("<s>Q: hi\nA: ", template.RenderPrompt(new ChatExample(new[] { new ChatMessage(ChatRole.User, "hi") })).ToText());
    }

    [Theory]
    [InlineData("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}", "ChatML")]
    [InlineData("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}", "Llama-3")]
    [InlineData("{{ bos_token + '[INST] ' + '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + content.strip() + ' [/INST]' }}", "Llama-2")]
    [InlineData("{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}{% endif %}", "Zephyr")]
    [InlineData("{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{{ eos_token }}", "Phi-3")]
    public void FromTokenizerConfig_KnownMarkers_PicksTemplate(string chatTemplate, string expected)
    {
        string config = System.Text.Json.JsonSerializer.Serialize(new { chat_template = chatTemplate, eos_token = "</s>" });
        Assert.Equal(expected, ChatTemplates.FromTokenizerConfig(config).Name);
    }

    [Theory]
    [InlineData("{\"eos_token\": \"</s>\"}")]
    [InlineData("{\"chat_template\": \"{{ bos_token }}{% for m in messages %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}\"}")] // Mistral: [INST] without <<SYS>>
    [InlineData("{\"chat_template\": \"<|im_start|><|im_end|><|start_header_id|><|eot_id|>\"}")] // two families at once
    public void FromTokenizerConfig_NoClearMatch_AsksTheUserToChoose(string config)
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplates.FromTokenizerConfig(config));
        Assert.Contains("Choose one explicitly", e.Message, System.StringComparison.Ordinal);
    }
}
