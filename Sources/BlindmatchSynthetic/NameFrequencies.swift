/// Where a synthetic person's names come from. Shares are per 1,000 people, roughly those of UK administrative data
/// (the 2021 census by ethnic group, folded into naming traditions); a person of any origin other than `british`
/// has a British given name 15% of the time ("Grace Okafor", "Jason Wong").
public enum NameOrigin: Int, CaseIterable, Sendable {
    case british, irish, southAsian, easternEuropean, westAfrican, eastAsian, otherEuropean, middleEastern

    /// People per 1,000 with names of this origin.
    public var share: Int {
        switch self {
        case .british: return 760
        case .irish: return 40
        case .southAsian: return 80
        case .easternEuropean: return 40
        case .westAfrican: return 30
        case .eastAsian: return 20
        case .otherEuropean: return 15
        case .middleEastern: return 15
        }
    }
}

/// A list of names in falling order of frequency, with its Zipf–Mandelbrot sampling table.
struct NameList: Sendable {
    let names: [String]
    let table: WeightedTable

    /// `offset` flattens the head of the distribution (see `WeightedTable.init(zipfCount:offset:)`).
    init(_ names: [String], offset: Double) {
        self.names = names
        table = WeightedTable(zipfCount: names.count, offset: offset)
    }

    /// `head` with Zipf–Mandelbrot weights, then `tail`, each tail name as likely as the others, taking `tailShare`
    /// of all draws.
    init(head: [String], offset: Double, tail: [String], tailShare: Double) {
        names = head + tail
        let headWeights = (0..<head.count).map { 1 / (Double($0 + 1) + offset) }
        let headTotal = headWeights.reduce(0, +)
        let scale = 1e12 * (1 - tailShare) / headTotal
        let tailWeight = UInt64((1e12 * tailShare / Double(max(tail.count, 1))).rounded())
        table = WeightedTable(
            weights: headWeights.map { UInt64(($0 * scale).rounded()) }
                + Array(repeating: tailWeight, count: tail.count))
    }

    func sample(_ random: inout SyntheticRandom) -> Int { table.sample(&random) }
}

/// Embedded name lists, UK-flavoured, each in rough order of frequency so that common names are common.
///
/// Made up from public frequency rankings (ONS baby names and surname counts, and the commonest names of each
/// tradition); the order matters more than the exact weights. Names keep their accents and punctuation (Zoë,
/// Siobhán, O'Brien, Al-Sayed, van der Berg) because real data does.
enum NameFrequencies {
    static let origins = WeightedTable(weights: NameOrigin.allCases.map { UInt64($0.share) })

    /// Given names for men, by `NameOrigin.rawValue`.
    static let maleGivenNames: [NameList] = [
        NameList(britishMale, offset: 8), NameList(irishMale, offset: 4), NameList(southAsianMale, offset: 4),
        NameList(easternEuropeanMale, offset: 4), NameList(westAfricanMale, offset: 4),
        NameList(eastAsianMale, offset: 4), NameList(otherEuropeanMale, offset: 4),
        NameList(middleEasternMale, offset: 4),
    ]

    /// Given names for women, by `NameOrigin.rawValue`.
    static let femaleGivenNames: [NameList] = [
        NameList(britishFemale, offset: 8), NameList(irishFemale, offset: 4), NameList(southAsianFemale, offset: 4),
        NameList(easternEuropeanFemale, offset: 4), NameList(westAfricanFemale, offset: 4),
        NameList(eastAsianFemale, offset: 4), NameList(otherEuropeanFemale, offset: 4),
        NameList(middleEasternFemale, offset: 4),
    ]

    /// Surnames, by `NameOrigin.rawValue`.
    static let surnames: [NameList] = [
        NameList(head: britishSurnames, offset: 15, tail: britishRareSurnames, tailShare: 0.3),
        NameList(irishSurnames, offset: 10),
        NameList(southAsianSurnames, offset: 10), NameList(easternEuropeanSurnames, offset: 10),
        NameList(westAfricanSurnames, offset: 10), NameList(eastAsianSurnames, offset: 6),
        NameList(otherEuropeanSurnames, offset: 10), NameList(middleEasternSurnames, offset: 10),
    ]

    /// Surnames borne by women only in their tradition (Begum, Kaur, Bibi, Khatun, Sultana): never drawn for men.
    static let femaleOnlySurnames: Set<String> = ["Begum", "Kaur", "Bibi", "Khatun", "Sultana"]

    // MARK: British (English, Welsh, Scottish)

    static let britishSurnames = [
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts",
        "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
        "Clarke", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee",
        "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
        "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey",
        "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Marshall", "Anderson", "Simpson", "Ellis",
        "Adams", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Hunt", "Campbell",
        "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker",
        "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Fletcher", "Gibson",
        "Howard", "Andrews", "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
        "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson", "Ball", "Burton",
        "Watts", "Rose", "Booth", "Perry", "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart",
        "Hudson", "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley",
        "Dunn", "Woods", "Parsons", "Berry", "Stone", "Reid", "Holland", "Hawkins", "Harding", "Porter", "Robertson",
        "Newton", "Oliver", "Reed", "Kennedy", "Williamson", "Bird", "Gardner", "Dean", "Lane", "Cooke", "Bates",
        "Henderson", "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson", "Shepherd", "Ross", "Cross",
        "Long", "Freeman", "Warren", "Nicholls", "Hamilton", "Sutton", "McDonald", "Yates", "Hodgson", "Robson",
        "Curtis", "Hopkins", "Harper", "Coleman", "Watkins", "Moss", "Chambers", "Jordan", "Griffin", "Wheeler",
        "Lamb", "Hutchinson", "Pritchard", "Norris", "Fowler", "Slater", "Barber", "Sharp", "Kirk", "Howell", "Miles",
        "Jennings", "Frost", "MacDonald", "MacLeod", "MacKenzie", "Fraser", "Sinclair", "Cameron", "Ferguson",
        "Paterson", "Johnston", "Duncan", "Gordon", "Morrison", "Hamer", "Buckley", "Pugh", "Vaughan", "Bowen",
        "Rowlands", "Jarvis", "Hewitt", "Knowles", "Lucas", "Middleton", "Mann", "Nash", "Osborne", "Pickering",
        "Quinn", "Rowe", "Sanderson", "Thornton", "Tucker", "Vincent", "Wallace", "Walters", "Whitehead", "Wilkins",
        "Winter", "Wyatt", "Abbott", "Ashton", "Bamford", "Blackburn", "Bolton", "Bond", "Brennan", "Briggs",
        "Broadbent", "Bull", "Carpenter", "Charlton", "Cunningham", "Dalton", "Dobson", "Doyle", "Drake", "Dyer",
        "Farrell", "Field", "Fitzgerald", "Fleming", "Garner", "Gibbs", "Goodwin", "Hale", "Hammond", "Hanson",
        "Hardy", "Haynes", "Higgins", "Hobbs", "Holt", "Horton", "Houghton", "Howarth", "Jacobs", "Kemp", "Lambert",
        "Leach", "Lord", "Lyons", "Mellor", "Metcalfe", "Moran", "Naylor", "Nolan", "Pollard", "Potter", "Preston",
        "Randall", "Read", "Rhodes", "Rigby", "Schofield", "Sharpe", "Stanley", "Steele", "Storey", "Swift", "Tait",
        "Townsend", "Wade", "Walsh", "Warner", "Whittaker", "Wilde", "Whitfield", "Ainsworth", "Llewellyn", "Cadwaladr",
        "ap Rhys", "Fitzgerald-Smythe", "Bowes-Lyon", "St John", "Ffrench", "McIntyre", "McKay", "MacGregor",
        "Urquhart", "Menzies", "Drummond", "Gallacher", "McLaughlin", "Crichton", "Dalgleish",
    ]

    /// The long tail that a list of a few hundred surnames lacks: rarer English place-name surnames (Ashworth,
    /// Thornley, Westbrook…) made of common first and second elements, about 700 of them, each about 0.03% of
    /// people. Without it every listed surname would be several times too common, and so would chance namesakes.
    static let britishRareSurnames: [String] = {
        let first = [
            "Ash", "Black", "Brad", "Brook", "Cart", "Chad", "Cran", "Dal", "Fair", "Fern", "Hart", "Hay", "Holl",
            "Kings", "Lang", "Mar", "Mid", "New", "North", "Oak", "Pen", "Ray", "Red", "Ring", "Rom", "Shel", "South",
            "Stan", "Stock", "Thorn", "Wad", "War", "West", "Whit", "Win", "Wood",
        ]
        let second = [
            "ley", "ton", "ford", "well", "wood", "ham", "by", "field", "worth", "more", "wick", "ridge", "combe",
            "hurst", "stead", "brook", "den", "ington", "bury", "shaw",
        ]
        let listed = Set(britishSurnames)
        return first.flatMap { head in second.map { head + $0 } }.filter { !listed.contains($0) }
    }()

    static let britishMale = [
        "John", "David", "Michael", "Paul", "Andrew", "Mark", "James", "Peter", "Robert", "Richard", "Stephen",
        "Christopher", "William", "Thomas", "Daniel", "Matthew", "Ian", "Gary", "Anthony", "Kevin", "Steven", "Simon",
        "Jonathan", "George", "Alan", "Brian", "Martin", "Jason", "Lee", "Darren", "Neil", "Graham", "Colin", "Keith",
        "Philip", "Adam", "Ryan", "Benjamin", "Samuel", "Joseph", "Jack", "Oliver", "Harry", "Charlie", "Alexander",
        "Nicholas", "Timothy", "Edward", "Henry", "Charles", "Kenneth", "Ronald", "Raymond", "Terence", "Dennis",
        "Derek", "Roy", "Frank", "Stanley", "Arthur", "Albert", "Frederick", "Alfred", "Harold", "Norman", "Leonard",
        "Gerald", "Douglas", "Trevor", "Barry", "Nigel", "Malcolm", "Roger", "Geoffrey", "Dean", "Wayne", "Craig",
        "Scott", "Shaun", "Carl", "Nathan", "Luke", "Jamie", "Aaron", "Kieran", "Jordan", "Tyler", "Connor", "Joshua",
        "Jacob", "Dylan", "Lewis", "Liam", "Noah", "Ethan", "Alfie", "Leo", "Archie", "Freddie", "Oscar", "Max",
        "Toby", "Sebastian", "Callum", "Euan", "Hamish", "Alasdair", "Angus", "Fraser", "Kyle", "Rhys", "Dafydd",
        "Gareth", "Iwan", "Owain", "Gregory", "Zachary", "Nathaniel", "Stuart", "Duncan", "Russell", "Howard",
        "Dominic", "Marcus", "Hugo", "Francis", "Patrick", "Vincent", "Leslie", "Clifford", "Reginald", "Sidney",
        "Ernest",
    ]

    static let britishFemale = [
        "Margaret", "Susan", "Sarah", "Elizabeth", "Mary", "Patricia", "Linda", "Karen", "Julie", "Helen", "Jennifer",
        "Nicola", "Emma", "Claire", "Lisa", "Joanne", "Michelle", "Rachel", "Laura", "Rebecca", "Amanda", "Catherine",
        "Katherine", "Jane", "Anne", "Christine", "Janet", "Barbara", "Jean", "Dorothy", "Joan", "Pauline", "Sandra",
        "Carol", "Deborah", "Tracey", "Kelly", "Gemma", "Hannah", "Charlotte", "Jessica", "Amy", "Sophie", "Emily",
        "Lucy", "Chloe", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Poppy", "Ella", "Lily", "Isabella",
        "Evie", "Freya", "Zoë", "Victoria", "Alexandra", "Natalie", "Danielle", "Stacey", "Jade", "Leanne",
        "Samantha", "Zara", "Holly", "Megan", "Georgia", "Abigail", "Eleanor", "Harriet", "Imogen", "Phoebe", "Rosie",
        "Matilda", "Florence", "Alice", "Ruby", "Maisie", "Scarlett", "Daisy", "Evelyn", "Elsie", "Willow", "Aria",
        "Doreen", "Edna", "Ethel", "Gladys", "Irene", "Iris", "Joyce", "Marjorie", "Mavis", "Muriel", "Phyllis",
        "Sheila", "Valerie", "Brenda", "Gillian", "Jacqueline", "Wendy", "Alison", "Diane", "Elaine", "Lesley",
        "Maureen", "Shirley", "Hazel", "Kathleen", "Frances", "Theresa", "Pamela", "Kimberley", "Josephine",
        "Rhiannon", "Bethan", "Cerys", "Siân", "Morag", "Eilidh", "Kirsty", "Fiona", "Shona", "Ailsa", "Lorna",
        "Caitlin", "Sophia", "Anne-Marie",
    ]

    // MARK: Irish

    static let irishSurnames = [
        "Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor", "O'Neill", "O'Reilly",
        "Doyle", "McCarthy", "Gallagher", "Doherty", "Kennedy", "Lynch", "Murray", "Quinn", "McLoughlin", "Carroll",
        "Connolly", "Daly", "O'Connell", "Dunne", "Brennan", "Burke", "Collins", "Fitzgerald", "Maguire", "Nolan",
        "Flynn", "O'Callaghan", "O'Donnell", "Duffy", "O'Mahony", "Boyle", "Healy", "O'Shea", "Sweeney", "Kavanagh",
        "Power", "McGrath", "Moran", "Brady", "Casey", "Foley", "Fitzpatrick", "O'Leary", "McDonnell", "McMahon",
        "Donnelly", "Regan", "Donovan", "Flanagan", "Mullan", "Barry", "Kane", "Cunningham", "Kenny", "Sheehan",
        "Whelan", "Lyons", "Higgins", "Cullen", "Keane", "Maher", "McKenna", "Hogan", "O'Keeffe", "Magee",
        "McNamara", "Mac Giolla Phádraig", "Ó Súilleabháin",
    ]

    static let irishMale = [
        "Seán", "Ciarán", "Pádraig", "Séamus", "Eoin", "Conor", "Declan", "Niall", "Oisín", "Cian", "Darragh",
        "Aidan", "Brendan", "Colm", "Dónal", "Fergal", "Ronan", "Shane", "Cathal", "Diarmuid", "Eamon", "Liam",
        "Patrick", "Michael", "John", "Kevin", "Dermot",
    ]

    static let irishFemale = [
        "Siobhán", "Aoife", "Niamh", "Róisín", "Gráinne", "Máire", "Saoirse", "Ciara", "Orla", "Sinéad", "Clodagh",
        "Aisling", "Caoimhe", "Éabha", "Deirdre", "Bríd", "Nuala", "Maeve", "Bridget", "Mary", "Mairéad", "Úna",
        "Fionnuala", "Emer",
    ]

    // MARK: South Asian (Indian, Pakistani, Bangladeshi, Sri Lankan; Sikh and Muslim traditions)

    static let southAsianSurnames = [
        "Patel", "Khan", "Singh", "Ali", "Ahmed", "Hussain", "Begum", "Kaur", "Shah", "Akhtar", "Rahman", "Islam",
        "Iqbal", "Mahmood", "Mohammed", "Bibi", "Miah", "Uddin", "Choudhury", "Sharma", "Kumar", "Gupta", "Parmar",
        "Mistry", "Chauhan", "Rana", "Malik", "Butt", "Qureshi", "Sheikh", "Raza", "Aziz", "Hassan", "Anwar",
        "Bashir", "Riaz", "Rashid", "Chaudhry", "Javed", "Nawaz", "Sandhu", "Sidhu", "Gill", "Dhillon", "Bains",
        "Grewal", "Johal", "Sahota", "Mann", "Virdi", "Desai", "Joshi", "Mehta", "Lad", "Solanki", "Makwana",
        "Thakkar", "Pandya", "Vora", "Reddy", "Iyer", "Nair", "Pillai", "Fernandes", "D'Souza", "Perera",
        "Fernando", "Sultana", "Khatun", "Ahmad", "Hossain", "Karim",
    ]

    static let southAsianMale = [
        "Mohammed", "Muhammad", "Mohammad", "Ahmed", "Ali", "Hassan", "Imran", "Usman", "Bilal", "Hamza", "Ibrahim",
        "Yusuf", "Zain", "Ayaan", "Rayyan", "Adam", "Omar", "Tariq", "Faisal", "Kamran", "Shahid", "Abdul", "Aziz",
        "Asif", "Arif", "Sajid", "Zubair", "Raj", "Sanjay", "Arjun", "Rahul", "Amit", "Rohan", "Vikram", "Deepak",
        "Manoj", "Suresh", "Rajesh", "Ravi", "Kiran", "Harpreet", "Gurpreet", "Jaswinder", "Kulwinder", "Sukhdev",
        "Manpreet", "Harjit", "Amrit", "Dev", "Nikhil", "Anil", "Sunil", "Vijay", "Ashok", "Pradeep", "Dinesh",
        "Mahesh", "Ramesh", "Hitesh", "Jignesh",
    ]

    static let southAsianFemale = [
        "Fatima", "Aisha", "Ayesha", "Maryam", "Zainab", "Khadija", "Amina", "Nusrat", "Shabana", "Samina",
        "Rukhsana", "Nazia", "Saima", "Sadia", "Hafsa", "Iqra", "Safiya", "Anaya", "Inaya", "Hania", "Sana",
        "Yasmin", "Shazia", "Farzana", "Razia", "Parveen", "Nasreen", "Priya", "Anjali", "Pooja", "Sunita", "Kavita",
        "Neha", "Deepa", "Meena", "Rekha", "Asha", "Geeta", "Nisha", "Harpreet", "Gurpreet", "Manjit", "Jaspreet",
        "Rajinder", "Sukhwinder", "Amandeep", "Simran", "Navdeep", "Parminder", "Kiran", "Divya", "Shreya",
        "Ananya", "Riya",
    ]

    // MARK: Eastern European (Polish, Lithuanian, Romanian, Bulgarian and neighbours)

    static let easternEuropeanSurnames = [
        "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
        "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk",
        "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski", "Michalski", "Nowicki", "Adamczyk", "Dudek", "Zając",
        "Wieczorek", "Jabłoński", "Król", "Majewski", "Olszewski", "Jaworski", "Wróbel", "Malinowski", "Pawlak",
        "Witkowski", "Walczak", "Stępień", "Górski", "Rutkowski", "Michalak", "Sikora", "Ostrowski", "Baran", "Duda",
        "Szewczyk", "Tomaszewski", "Pietrzak", "Marciniak", "Kazlauskas", "Petrauskas", "Jankauskas", "Popescu",
        "Popa", "Ionescu", "Dumitru", "Stan", "Constantin", "Ivanov", "Petrov", "Horváth", "Novák", "Bērziņš",
    ]

    static let easternEuropeanMale = [
        "Piotr", "Krzysztof", "Tomasz", "Paweł", "Łukasz", "Michał", "Jakub", "Kamil", "Marcin", "Marek", "Adam",
        "Mateusz", "Grzegorz", "Andrzej", "Jan", "Dariusz", "Rafał", "Wojciech", "Artur", "Sebastian", "Szymon",
        "Bartosz", "Daniel", "Robert", "Mariusz", "Aleksander", "Mindaugas", "Tomas", "Andrei", "Mihai", "Ion",
        "Gheorghe", "Alexandru", "Florin", "Bogdan", "Dmitri", "Sergei", "Ivan",
    ]

    static let easternEuropeanFemale = [
        "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Ewa", "Monika", "Aleksandra",
        "Zofia", "Barbara", "Krystyna", "Karolina", "Natalia", "Paulina", "Justyna", "Marta", "Dorota", "Beata",
        "Weronika", "Julia", "Zuzanna", "Oliwia", "Maja", "Wiktoria", "Ioana", "Elena", "Maria", "Andreea", "Alina",
        "Irina", "Olga", "Daiva", "Rūta", "Jolanta", "Kristina",
    ]

    // MARK: West African (Nigerian, Ghanaian, Sierra Leonean)

    static let westAfricanSurnames = [
        "Okafor", "Adeyemi", "Okonkwo", "Oladipo", "Adebayo", "Ogunleye", "Okeke", "Eze", "Nwosu", "Obi", "Ibrahim",
        "Bello", "Abubakar", "Mensah", "Owusu", "Boateng", "Asante", "Osei", "Agyeman", "Appiah", "Adjei", "Danso",
        "Ofori", "Ogunbiyi", "Afolabi", "Adewale", "Akinola", "Balogun", "Olawale", "Ogundipe", "Chukwu", "Okoro",
        "Nwachukwu", "Igwe", "Anyanwu", "Oyewole", "Adeleke", "Fashola", "Adeniyi", "Salami", "Lawal", "Musa",
        "Koroma", "Kamara", "Conteh", "Sesay", "Bangura",
    ]

    static let westAfricanMale = [
        "Oluwaseun", "Chinedu", "Emeka", "Chukwuemeka", "Babatunde", "Olufemi", "Adebayo", "Kwame", "Kofi",
        "Kwabena", "Yaw", "Kojo", "Ifeanyi", "Obinna", "Chidi", "Tobi", "Segun", "Dapo", "Ayodele", "Ikenna",
        "Uchenna", "Nnamdi", "Samuel", "Emmanuel", "David", "Daniel", "Joseph", "Michael", "Godwin", "Prince",
        "Victor", "Ebuka", "Damilola", "Kelechi",
    ]

    static let westAfricanFemale = [
        "Ngozi", "Chioma", "Adaeze", "Folasade", "Funmilayo", "Oluwatoyin", "Blessing", "Grace", "Precious", "Abena",
        "Akosua", "Ama", "Efua", "Yetunde", "Bukola", "Temitope", "Adeola", "Chiamaka", "Nneka", "Ifeoma", "Amaka",
        "Chinwe", "Esther", "Deborah", "Comfort", "Patience", "Mercy", "Joy", "Abimbola", "Titilayo", "Modupe",
        "Oluwakemi", "Tolani",
    ]

    // MARK: East and South-East Asian (Chinese, Hong Kong, Vietnamese, Korean, Japanese, Malaysian)

    static let eastAsianSurnames = [
        "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu",
        "Guo", "He", "Lin", "Luo", "Gao", "Cheung", "Wong", "Chan", "Lam", "Leung", "Ho", "Ng", "Yip", "Tang", "Lau",
        "Nguyen", "Tran", "Pham", "Le", "Hoang", "Kim", "Park", "Choi", "Tanaka", "Sato", "Lim", "Tan", "Goh", "Ong",
    ]

    static let eastAsianMale = [
        "Wei", "Jun", "Hao", "Ming", "Lei", "Jian", "Tao", "Yong", "Qiang", "Bo", "Kai", "Jie", "Feng", "Minh", "Duc",
        "Anh", "Tuan", "Hung", "Ji-hoon", "Min-jun", "Hiroshi", "Kenji", "Jason", "Kevin", "Zhi Hao",
    ]

    static let eastAsianFemale = [
        "Mei", "Ling", "Yan", "Xin", "Jing", "Fang", "Hui", "Ying", "Xiaoling", "Lan", "Hong", "Yu", "Qing", "Linh",
        "Thu", "Huong", "Mai", "Hana", "Yuki", "Ji-woo", "Seo-yeon", "Michelle", "Jenny", "Xiu Ying",
    ]

    // MARK: Other European (Portuguese, Spanish, Italian, Greek, Dutch, German, French, Nordic)

    static let otherEuropeanSurnames = [
        "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Sousa", "Gonçalves",
        "Gomes", "Lopes", "García", "González", "Rodríguez", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Ricci", "Greco", "Bruno", "De Luca",
        "Papadopoulos", "Georgiou", "Nikolaou", "Christodoulou", "da Silva", "de Souza", "dos Santos", "da Costa",
        "de la Cruz", "van der Berg", "de Vries", "van Dijk", "Jansen", "Müller", "Schmidt", "Schneider", "Fischer",
        "Weber", "Dubois", "Lefèvre", "Le Roux", "Nielsen", "Hansen", "Andersson",
    ]

    static let otherEuropeanMale = [
        "José", "João", "Pedro", "Luís", "Carlos", "António", "Miguel", "Francisco", "Rui", "Tiago", "Juan", "Javier",
        "Alejandro", "Pablo", "Diego", "Marco", "Giuseppe", "Giovanni", "Luca", "Matteo", "Alessandro", "Nikos",
        "Giorgos", "Dimitris", "Kostas", "Hans", "Pieter", "Lars", "Erik", "Pierre", "Jean-Luc", "Stefan", "Klaus",
        "Jürgen", "Björn",
    ]

    static let otherEuropeanFemale = [
        "Maria", "Ana", "Sofia", "Inês", "Beatriz", "Carla", "Joana", "Lucía", "Carmen", "Elena", "Isabel", "Giulia",
        "Francesca", "Chiara", "Sara", "Eleni", "Katerina", "Renée", "Chloé", "Amélie", "Élodie", "Camille", "Margot",
        "Anke", "Ingrid", "Astrid", "Freja", "Hanna", "Lena", "Greta", "Zoé", "María José",
    ]

    // MARK: Middle Eastern and North-East African (Somali, Turkish, Kurdish, Iranian, Arab)

    static let middleEasternSurnames = [
        "Mohamed", "Abdi", "Hassan", "Ahmed", "Ali", "Farah", "Osman", "Yusuf", "Omar", "Aden", "Warsame", "Jama",
        "Hersi", "Ibrahim", "Yilmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Arslan",
        "Doğan", "Karimi", "Hosseini", "Rezaei", "Ahmadi", "Mohammadi", "Rahimi", "Haddad", "Khoury", "Nasser",
        "Saleh", "Al-Sayed", "Al-Hassan", "Abdullah", "Mansour", "Hamid", "Mahmoud", "El Amrani",
    ]

    static let middleEasternMale = [
        "Mohamed", "Abdi", "Abdullahi", "Ahmed", "Ali", "Hassan", "Hussein", "Omar", "Yusuf", "Ibrahim", "Mustafa",
        "Mehmet", "Ahmet", "Emre", "Murat", "Hakan", "Reza", "Amir", "Karim", "Khalid", "Mahmoud", "Samir", "Tariq",
        "Youssef", "Hamza", "Bilal",
    ]

    static let middleEasternFemale = [
        "Fadumo", "Hodan", "Amina", "Khadija", "Asha", "Hawa", "Sahra", "Ayan", "Ayşe", "Fatma", "Zeynep", "Elif",
        "Emine", "Hatice", "Leyla", "Maryam", "Zahra", "Fatemeh", "Nour", "Layla", "Rania", "Yasmin", "Hana",
        "Mariam", "Salma", "Dina",
    ]
}
