namespace FineTuning.Models.Tests.Bert;

/// <summary>Varied English and non-English text for the parity and tokenizer tests.</summary>
internal static class ParitySentences
{
    internal static readonly string[] All =
    [
        "hello world",
        "Hi!",
        "The quick brown fox jumps over the lazy dog.",
        "A man is eating food.",
        "A man is riding a white horse on an enclosed ground.",
        "Is this the real life? Is this just fantasy?",
        "Prices rose 3.5% in Q2 2024, to $1,299.99 per unit (up from $999).",
        "Call me at +1 (555) 010-9999 or e-mail j.doe@example.com!!!",
        "Café au lait, naïve façade, jalapeño, Ångström and Zürich.",
        "Crème brûlée à la carte: ÉLÉPHANT, İstanbul, Øresund.",
        "I love this movie 😍 so much 🎬!",
        "東京は日本の首都です。",
        "Привет, как дела?",
        "안녕하세요 세계",
        "don't won't can't — it's \"quoted\" and 'single' ... ellipsis…",
        "Tabs\tand\nnewlines\r\nand   multiple   spaces",
        "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious",
        "x",
        "12345 67890 3.14159 2,718 1e-9",
        "C++ / C# / F# <html> {json: [1, 2]} a_b snake_case CamelCase",
        "The committee will reconvene next Tuesday to discuss the budget, the hiring plan, the new office lease, "
            + "and whether the quarterly all-hands should move online; several members asked for the agenda in advance, "
            + "and the chair promised to circulate minutes from the previous meeting before the weekend.",
        "Machine learning models can be fine-tuned on small datasets to adapt them to new domains.",
        "¿Dónde está la biblioteca? ¡Aquí!",
        "Straße, Œuvre, ﬁne ligature, Ⅻ roman numeral, ½ fraction",
    ];
}
