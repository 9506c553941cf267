// The kinds of department (联调联处) in both languages, for the pages that list departments
// (the command center's panel and board, the admin console). Keys `dk.<kind>` as the API names them.
import { GD } from './common.js';

GD.strings({
  zh: {
    'dk.police_station': '派出所', 'dk.traffic_police': '交警', 'dk.justice_office': '司法所', 'dk.labour_inspection': '劳动监察',
    'dk.labour_arbitration': '劳动仲裁', 'dk.housing': '住建房管', 'dk.market_regulation': '市场监管', 'dk.court': '法院',
    'dk.procuratorate': '检察院', 'dk.petitions': '信访', 'dk.womens_federation': '妇联', 'dk.health': '卫健',
    'dk.industry_mediation': '行业调委会', 'dk.street_office': '街道乡镇', 'dk.other': '其他部门'
  },
  en: {
    'dk.police_station': 'Police station', 'dk.traffic_police': 'Traffic police', 'dk.justice_office': 'Justice office',
    'dk.labour_inspection': 'Labour inspection', 'dk.labour_arbitration': 'Labour arbitration', 'dk.housing': 'Housing',
    'dk.market_regulation': 'Market regulation', 'dk.court': 'Court', 'dk.procuratorate': 'Procuratorate',
    'dk.petitions': 'Petitions office', 'dk.womens_federation': "Women's federation", 'dk.health': 'Health',
    'dk.industry_mediation': 'Industry mediation', 'dk.street_office': 'Street office', 'dk.other': 'Other'
  }
});

/** Every kind, in the order the API documents them. */
export const DEPARTMENT_KINDS = ['police_station', 'traffic_police', 'justice_office', 'labour_inspection', 'labour_arbitration',
  'housing', 'market_regulation', 'court', 'procuratorate', 'petitions', 'womens_federation', 'health', 'industry_mediation',
  'street_office', 'other'];
